import { defineConfig } from 'vitest/config';

// Real-tool suites start servers and processes: keep parallelism modest on 2-core machines.
export const config = defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Forks, not threads: in-process CLI runs (test/helpers/cli-in-process.ts) change the
    // working directory, which a worker thread cannot; each test file keeps its own process.
    pool: 'forks',
    maxWorkers: 2,
    // The JSON report is what .ci/run counts (vitest's console summary is not read by CI).
    reporters: ['default', 'json'],
    outputFile: { json: '_build/test-results/vitest.json' },
  },
});

// vitest loads the default export of its config file; this is the one default export allowed.
// eslint-disable-next-line no-restricted-exports
export default config;
