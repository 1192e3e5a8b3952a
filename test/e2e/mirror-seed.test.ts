import { copyFile, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingTools } from '../helpers/require-tool.ts';
import { runCliHere } from '../helpers/run-cli.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { fixturePackages, writeMirrorFixture } from '../tools/mirror-fixture.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const missing = missingTools('rpmbuild', 'createrepo_c', 'gpg', 'rpmsign');

interface BuildEvent {
  readonly event?: string;
  readonly task?: string;
  readonly reason?: string;
}

/**
 * `npm run build -- --reporter json ...` in a workspace (the CLI finds its root from cwd): the
 * CLI's main, in this process. A non-zero exit fails the test.
 */
async function build(cwd: string, ...args: string[]): Promise<BuildEvent[]> {
  const r = await runCliHere(
    cwd,
    ['--tasks-module', path.join(import.meta.dirname, 'mirror-tasks-module.ts'), ...args],
    {
      env: { ...process.env, SOURCES: 'embedded' },
    },
  );
  expect(r.code, r.stderr).toBe(0);
  return r.events;
}

function kinds(events: BuildEvent[], task: string): string[] {
  return events.filter((e) => e.task === task).map((e) => e.event ?? '');
}

describe.skipIf(missing.length > 0)('npm run build -- mirror:seed', () => {
  let tmp: TempDir;

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-mirror-e2e-');
    await writeMirrorFixture(tmp.path);
    await copyFile(path.join(repo, '.env.example'), path.join(tmp.path, '.env.example'));
  });

  afterAll(async () => {
    await tmp.cleanup();
  });

  it('seeds, is up to date on a rerun, and reruns when a content list changes', async () => {
    const first = await build(tmp.path, 'mirror:seed');
    expect(kinds(first, 'mirror:seed')).toContain('done');
    const stamp = JSON.parse(
      await readFile(path.join(tmp.path, '_build/mirror/seed.json'), 'utf8'),
    ) as { summary: string };
    // socat and kubelet, plus sos and python of the upstream catalogue (base).
    expect(stamp.summary).toMatch(/^3 images, 4 RPMs \(4 built\) in 2 repos, 1 files$/);
    const second = await build(tmp.path, 'mirror:seed');
    expect(kinds(second, 'mirror:seed')).toEqual(['skip']);
    expect(second.find((e) => e.task === 'mirror:seed')?.reason).toBe('up-to-date');
    await writeFile(
      path.join(tmp.path, 'packages-specs/redhat-7.yaml'),
      fixturePackages('  - { name: ethtool }\n'),
    );
    const third = await build(tmp.path, 'mirror:seed');
    expect(kinds(third, 'mirror:seed')).toContain('done');
  });
});
