/**
 * The salt, iso-root and iso task factories run on the engine in process (graph, scheduler,
 * fingerprints, declared env), on a temp copy of the repository content: each step selects
 * its tasks, whose dependencies run first or are up to date from the step before.
 */
import { execFileSync } from 'node:child_process';
import { cp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildConfig } from '../../buildchain/config/config.ts';
import { RACY_MS } from '../../buildchain/engine/fingerprint.ts';
import type { TaskDefinition } from '../../buildchain/engine/task.ts';
import { createIsoRootTasks } from '../../buildchain/tasks/iso-root/tasks.ts';
import { createIsoTasks } from '../../buildchain/tasks/iso/tasks.ts';
import { REQUIRED_LAYOUT, verifyIso } from '../../buildchain/tasks/iso/verify.ts';
import { createSaltTasks } from '../../buildchain/tasks/salt/tasks.ts';
import { testConfig, unusedSources } from '../helpers/config.ts';
import { makeGpgKey, type TestKey } from '../helpers/gpg.ts';
import { runOnEngine } from '../helpers/engine-run.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const missing = missingTools('xorriso', 'isoinfo', 'bsdtar', 'checkisomd5', 'gpg');
const repoRoot = path.resolve(import.meta.dirname, '../..');

const sources = unusedSources();

/** Runs `names` on the engine (their dependencies too); collects the lines they logged. */
async function runTasks(
  config: BuildConfig,
  tasks: readonly TaskDefinition[],
  names: readonly string[],
  logs: string[],
): Promise<string[]> {
  const r = await runOnEngine(config, tasks, names);
  logs.push(...r.logs);
  expect(r.exitCode, r.failures.join('\n')).toBe(0);
  return [...r.ran];
}

describe.skipIf(missing.length > 0)('salt, iso-root and iso tasks', () => {
  let tmp: TempDir;
  let root: string;
  const logs: string[] = [];
  let config: BuildConfig;
  let key: TestKey | undefined;
  let tasks: TaskDefinition[];
  const byName = (n: string): TaskDefinition | undefined => tasks.find((t) => t.name === n);

  beforeAll(async () => {
    tmp = await makeTempDir('iso-tasks-');
    root = path.join(tmp.path, 'repo');
    for (const d of ['salt', 'scripts', 'iso-root', 'images', 'packages-specs', 'VERSION']) {
      await cp(path.join(repoRoot, d), path.join(root, d), { recursive: true });
    }
    await writeFile(path.join(root, 'salt/metalk8s/forgotten.sls'), 'x: 1\n');
    key = await makeGpgKey(tmp.path, {
      uid: 'ISO Signer <iso@example.invalid>',
      publicKeyName: 'iso-signer.asc',
    });
    process.env.GNUPGHOME = key.home;
    config = testConfig(root, {
      SOURCE_DATE_EPOCH: '1700000000',
      ISO_SIGN_KEY: 'iso@example.invalid',
    });
    const others = [...createSaltTasks(config, sources), ...createIsoRootTasks(config, sources)];
    tasks = [...others, ...createIsoTasks(config, sources, others)];
  });
  afterAll(async () => {
    await key?.stop();
    delete process.env.GNUPGHOME;
    await tmp.cleanup();
  });

  it('declares the documented task names and the ISO dependencies', () => {
    expect(tasks.map((t) => t.name)).toEqual([
      'salt:copy',
      'salt:render',
      'salt:versions',
      'salt_tree',
      'iso-root:scripts',
      'iso-root:files',
      'iso-root:product',
      'populate_iso',
      '_iso_build',
      '_iso_digest',
      'iso',
      'verify',
    ]);
    expect(byName('populate_iso')?.taskDeps).toEqual([
      'salt_tree',
      'iso-root:scripts',
      'iso-root:files',
      'iso-root:product',
    ]);
    expect(byName('_iso_build')?.dynamicDeps?.after).toEqual(['populate_iso']);
    expect(byName('_iso_build')?.targets).toEqual([
      path.join(root, '_build/metalk8s.iso'),
      path.join(root, '_build/SHA256SUM'),
    ]);
  });

  it('builds the Salt tree, warning about an unlisted file', async () => {
    await runTasks(config, tasks, ['salt:copy', 'salt:render', 'salt:versions'], logs);
    expect(logs).toContain(
      'salt:copy: warning: salt/metalk8s/forgotten.sls is not listed in salt/MANIFEST: not shipped',
    );
    expect(await readFile(path.join(config.isoRoot, 'salt/top.sls'), 'utf8')).toContain(
      'metalk8s-2.4.0-beta1:',
    );
    const versions = JSON.parse(
      await readFile(path.join(config.isoRoot, 'salt/metalk8s/versions.json'), 'utf8'),
    ) as {
      metalk8s: { version: string };
      images: Record<string, unknown>;
    };
    expect(versions.metalk8s.version).toBe('2.4.0-beta1');
    expect(Object.keys(versions.images)).toContain('calico-node');
    await expect(stat(path.join(config.isoRoot, 'salt/metalk8s/forgotten.sls'))).rejects.toThrow();
  });

  it('renders the scripts and a sourceable product.txt', async () => {
    await runTasks(config, tasks, ['iso-root:scripts', 'iso-root:files', 'iso-root:product'], logs);
    const bootstrap = path.join(config.isoRoot, 'bootstrap.sh');
    expect(await readFile(bootstrap, 'utf8')).toContain('VERSION=2.4.0-beta1\n');
    expect((await stat(bootstrap)).mode & 0o777).toBe(0o755);
    expect(await readFile(path.join(config.isoRoot, 'examples/new-node.yaml'), 'utf8')).toContain(
      "metalk8s.scality.com/version: '2.4.0-beta1'",
    );
    const sourced = execFileSync(
      'sh',
      [
        '-c',
        '. "$1" && echo "$NAME|$VERSION|$BUILD_TIMESTAMP|$SOURCES"',
        'sh',
        path.join(config.isoRoot, 'product.txt'),
      ],
      {
        encoding: 'utf8',
      },
    );
    expect(sourced).toBe(
      'MetalK8s|2.4.0-beta1|2023-11-14T22:13:20Z|embedded-stand-in-not-a-release\n',
    );
  });

  it('removes files no task produced from the ISO root, with a warning', async () => {
    await writeFile(path.join(config.isoRoot, 'dropped-by-hand.txt'), 'x');
    const check = byName('populate_iso')?.uptodate?.[0];
    expect(typeof check === 'function' ? await check() : check).toBe(
      'files under the ISO root that no task produced',
    );
    // Its dependencies ran in the steps before and are up to date.
    expect(await runTasks(config, tasks, ['populate_iso'], logs)).toEqual(['populate_iso']);
    expect(logs).toContain(
      'populate_iso: warning: removing dropped-by-hand.txt from the ISO root: no task produces it',
    );
    expect(typeof check === 'function' ? await check() : check).toBe(true);
  });

  it("the ISO's file deps count a file added to the ISO root after populate_iso's check", async () => {
    // Past the racy margin, the check's walk is kept: the ISO's file deps reuse it unless a
    // directory changed in between.
    await new Promise((r) => setTimeout(r, RACY_MS + 15));
    const check = byName('populate_iso')?.uptodate?.[0];
    const compute = byName('_iso_build')?.dynamicDeps?.compute;
    expect(typeof check === 'function' ? await check() : check).toBe(true);
    const before = (await compute?.())?.fileDeps ?? [];
    expect(before).toContain(path.join(config.isoRoot, 'product.txt'));
    expect(typeof check === 'function' ? await check() : check).toBe(true);
    const added = path.join(config.isoRoot, 'salt/metalk8s/added-in-between.sls');
    await writeFile(added, 'x: 1\n');
    try {
      expect((await compute?.())?.fileDeps).toEqual([...before, added].sort());
    } finally {
      await rm(added);
    }
    expect((await compute?.())?.fileDeps).toEqual(before);
  });

  it('writes a verified, signed ISO whose dynamic deps are every ISO root file', async () => {
    const deps = await byName('_iso_build')?.dynamicDeps?.compute();
    expect(deps?.fileDeps).toContain(path.join(config.isoRoot, 'salt/metalk8s/versions.json'));
    expect(deps?.fileDeps).toContain(path.join(config.isoRoot, 'product.txt'));
    await runTasks(config, tasks, ['_iso_build', '_iso_digest'], logs);
    // No images tasks here, hence no registry includes: the base layout only.
    const report = await verifyIso({
      iso: path.join(root, '_build/metalk8s.iso'),
      expectName: 'MetalK8s',
      layout: REQUIRED_LAYOUT,
    });
    expect(report.problems).toEqual([]);
    expect(report.checked).toContain('signature SHA256SUM.asc is valid');
  });
});
