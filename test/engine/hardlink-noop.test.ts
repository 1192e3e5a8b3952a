/**
 * A hard link of identical content is not a change: tasks whose directory targets (yum repos)
 * or file deps get their files replaced by hard links of equal files (what `images:dedup`
 * does under images/, tried here across two repos' key files), or whose linked files get a new
 * ctime through another name (a repo's RPMs are hard links of the download cache), stay up to
 * date. Guards the "every repo reassembled once after an image-only change" report: targets
 * and file deps are compared by content, never by inode or times.
 */
import { link, mkdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildConfig } from '../../buildchain/config/config.ts';
import { fn, type TaskDefinition } from '../../buildchain/engine/task.ts';
import { dedupTree } from '../../buildchain/tasks/images/dedup.ts';
import { linkOrCopy } from '../../buildchain/lib/fs/staging.ts';
import { testConfig } from '../helpers/config.ts';
import { runOnEngine } from '../helpers/engine-run.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

describe('hard links of identical content cause no rerun', () => {
  let tmp: TempDir;
  let config: BuildConfig;
  let cache: string;
  const repoDir = (n: string): string => path.join(config.isoRoot, 'packages', n);

  /** A repo task as packaging's: RPMs linked from the cache (mtime set), a copied key. */
  const repoTask = (n: string): TaskDefinition => ({
    name: `repo:${n}`,
    fileDeps: [path.join(cache, `${n}.json`)],
    targets: [repoDir(n)],
    actions: [
      fn(`assemble ${n}`, async () => {
        const dir = repoDir(n);
        await rm(dir, { recursive: true, force: true });
        await mkdir(dir, { recursive: true });
        const rpm = path.join(dir, `${n}.rpm`);
        await linkOrCopy(path.join(cache, `${n}.rpm`), rpm);
        await utimes(rpm, 1_700_000_000, 1_700_000_000);
        await writeFile(
          path.join(dir, 'RPM-GPG-KEY-test'),
          await readFile(path.join(cache, 'key')),
        );
      }),
    ],
  });
  const defs = (): TaskDefinition[] => [
    repoTask('a'),
    repoTask('b'),
    {
      name: 'consumer',
      taskDeps: ['repo:a', 'repo:b'],
      fileDeps: [path.join(repoDir('a'), 'RPM-GPG-KEY-test'), path.join(repoDir('b'), 'b.rpm')],
      targets: [path.join(config.buildRoot, 'consumer.txt')],
      actions: [
        fn('consume', async () => {
          await writeFile(path.join(config.buildRoot, 'consumer.txt'), 'ok\n');
        }),
      ],
    },
  ];
  const build = async (): Promise<string[]> => {
    const r = await runOnEngine(config, defs(), ['consumer']);
    expect(r.failures).toEqual([]);
    expect(r.exitCode).toBe(0);
    return [...r.ran].sort();
  };

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-hardlink-noop-');
    config = testConfig(tmp.path);
    cache = path.join(config.buildRoot, 'cache');
    await mkdir(cache, { recursive: true });
    await writeFile(path.join(cache, 'key'), 'the same public key\n');
    for (const n of ['a', 'b']) {
      await writeFile(path.join(cache, `${n}.rpm`), `rpm ${n}\n`);
      await writeFile(path.join(cache, `${n}.json`), `{"rpm":"${n}"}\n`);
    }
  });
  afterAll(async () => {
    await tmp.cleanup();
  });

  it('stays a no-op after identical files are hard-linked across targets', async () => {
    expect(await build()).toEqual(['consumer', 'repo:a', 'repo:b']);
    expect(await build()).toEqual([]);
    const keyA = path.join(repoDir('a'), 'RPM-GPG-KEY-test');
    const keyB = path.join(repoDir('b'), 'RPM-GPG-KEY-test');
    expect((await stat(keyA)).ino).not.toBe((await stat(keyB)).ino);
    const r = await dedupTree([repoDir('a'), repoDir('b')]);
    expect(r.linked).toBe(1);
    expect((await stat(keyA)).ino).toBe((await stat(keyB)).ino);
    expect(await build()).toEqual([]);
  });

  it('stays a no-op when a linked file gets a new ctime through another name', async () => {
    // Another name of repo b's RPM inode (the cache's) gains a link and new times: the repo's
    // file keeps its content, its stat record no longer matches (it is re-hashed, not rebuilt).
    const before = await stat(path.join(repoDir('b'), 'b.rpm'));
    await new Promise((r) => setTimeout(r, 20));
    await link(path.join(cache, 'b.rpm'), path.join(cache, 'b.rpm.extra'));
    await utimes(path.join(cache, 'b.rpm'), 1_600_000_000, 1_600_000_000);
    const after = await stat(path.join(repoDir('b'), 'b.rpm'));
    expect(after.ctimeMs).not.toBe(before.ctimeMs);
    expect(await build()).toEqual([]);
    expect(await build()).toEqual([]);
  });

  it('still reruns on a content change (the test can fail)', async () => {
    await writeFile(path.join(cache, 'b.json'), '{"rpm":"b","v":2}\n');
    const ran = await build();
    expect(ran).toContain('repo:b');
    expect(ran).not.toContain('repo:a');
  });
});
