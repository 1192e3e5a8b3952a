/**
 * The engine tasks of the example Solution: names, fingerprint inputs, and a build then its
 * verification run on the engine in process.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildConfig } from '../../buildchain/config/config.ts';
import { parseSettings } from '../../buildchain/config/settings.ts';
import { resolveTools } from '../../buildchain/config/tools.ts';
import type { FunctionAction } from '../../buildchain/engine/task.ts';
import { createSolutionTasks } from '../../buildchain/tasks/solution/tasks.ts';
import { unusedSources } from '../helpers/config.ts';
import { runOnEngine } from '../helpers/engine-run.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const missing = missingTools('buildah', 'skopeo', 'xorriso', 'isoinfo', 'busybox');

const noSources = unusedSources('upstream');

describe.skipIf(missing.length > 0)('solution engine tasks', () => {
  let tmp: TempDir;
  let config: BuildConfig;
  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-solution-tasks-');
    config = {
      root: ROOT,
      buildRoot: tmp.path,
      isoRoot: path.join(tmp.path, 'root'),
      projectName: 'MetalK8s',
      sources: 'upstream',
      env: { SOURCE_DATE_EPOCH: '1700000000' },
      settings: parseSettings({ SOURCE_DATE_EPOCH: '1700000000' }),
      // The engine checks each task's tools before it runs: the registry's defaults.
      tools: resolveTools({}),
    };
  });
  afterAll(async () => {
    await tmp.cleanup();
  });

  it('declares build and verify with the example files as inputs and the ISO as target', () => {
    const [build, verify] = createSolutionTasks(config, noSources);
    expect(build?.name).toBe('solution:build:example');
    expect(build?.fileDeps).toContain(path.join(ROOT, 'examples/solution-example/solution.yaml'));
    expect(build?.fileDeps?.some((f) => f.includes('/_build/'))).toBe(false);
    expect(build?.targets).toEqual([path.join(tmp.path, 'solutions', 'example-solution.iso')]);
    expect(verify?.taskDeps).toEqual(['solution:build:example']);
    expect(JSON.stringify(build?.actions?.map((a) => (a as FunctionAction).label))).not.toContain(
      tmp.path.split('/').pop() ?? '?',
    );
  });

  it('runs the build then the verification', async () => {
    const tasks = createSolutionTasks(config, noSources);
    const r = await runOnEngine(
      config,
      tasks,
      tasks.map((t) => t.name),
    );
    expect(r.exitCode, r.failures.join('\n')).toBe(0);
    expect(r.logLines.join('\n')).not.toContain('error');
    expect(
      (await stat(path.join(tmp.path, 'solutions', 'example-solution.iso'))).size,
    ).toBeGreaterThan(100_000);
    expect(await readFile(path.join(tmp.path, 'solutions', 'SHA256SUM'), 'utf8')).toMatch(
      /^[a-f0-9]{64} {2}example-solution\.iso\n$/,
    );
  });

  it('is up to date on a rerun, and runs again when a registry setting its images pull with changes', async () => {
    const names = (c: BuildConfig): string[] =>
      createSolutionTasks(c, noSources).map((t) => t.name);
    const again = await runOnEngine(config, createSolutionTasks(config, noSources), names(config));
    expect(again.ran).toEqual([]);
    const env = { ...config.env, REGISTRY_MIRRORS: 'docker.io=mirror.example.com:5000/hub' };
    const mirrored = { ...config, env, settings: parseSettings(env) };
    const r = await runOnEngine(
      mirrored,
      createSolutionTasks(mirrored, noSources),
      names(mirrored),
    );
    expect(r.exitCode, r.failures.join('\n')).toBe(0);
    expect(r.ran).toContain('solution:build:example');
    // Inside, the image stage ran again (its fingerprint holds the builder's mirrors), not
    // only the outer task.
    expect(r.logLines).toContain('image example-app:1.0.0-dev: building');
  });
});
