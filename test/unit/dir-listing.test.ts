/**
 * Directory listings read once per run while unchanged (lib/fs/walk.ts listDirSync): the
 * checks of a no-op (the temp sweep, images:dedup's inode snapshot, packaging:closure's repo
 * list, a directory target's hash, the ISO root's walk) share them, and every change of a
 * directory's names or kinds made since is still seen. Real directories; the reads are counted
 * by wrapping node:fs's readdirSync (its ESM named exports synced, so the modules' own imports
 * call the wrapper).
 */
import fs, { mkdirSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileHasher } from '../../buildchain/engine/fingerprint.ts';
import { sweepDeadTemps } from '../../buildchain/lib/fs/atomic-write.ts';
import { RACY_MS } from '../../buildchain/lib/fs/racy.ts';
import { listDirSync, ReusableWalk, walkTreeSync } from '../../buildchain/lib/fs/walk.ts';
import { inodeSnapshot } from '../../buildchain/tasks/images/dedup.ts';
import { nodeRepos } from '../../buildchain/tasks/packages/closure.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const realReaddirSync = fs.readdirSync;
/** Directory → how many times it was read since {@link countReads}. */
let reads = new Map<string, number>();

function countReads(): void {
  reads = new Map();
  fs.readdirSync = ((dir: fs.PathLike, ...rest: unknown[]) => {
    const d = String(dir);
    reads.set(d, (reads.get(d) ?? 0) + 1);
    return (realReaddirSync as (...a: unknown[]) => unknown)(dir, ...rest);
  }) as typeof fs.readdirSync;
  syncBuiltinESMExports();
}

function stopCounting(): void {
  fs.readdirSync = realReaddirSync;
  syncBuiltinESMExports();
}

const pastMargin = (): Promise<void> => new Promise((r) => setTimeout(r, RACY_MS + 15));
const names = (l: readonly fs.Dirent[]): string[] =>
  l.map((d) => `${d.name}:${d.isDirectory() ? 'dir' : d.isFile() ? 'file' : 'other'}`);

let tmp: TempDir;
beforeEach(async () => {
  tmp = await makeTempDir('mk8s-listing-');
});
afterEach(async () => {
  stopCounting();
  await tmp.cleanup();
});

describe('listDirSync', () => {
  it('lists sorted and typed, and reads an unchanged directory once (the same frozen array)', async () => {
    const dir = path.join(tmp.path, 'd');
    mkdirSync(path.join(dir, 'sub'), { recursive: true });
    writeFileSync(path.join(dir, 'b'), 'b');
    writeFileSync(path.join(dir, 'a'), 'a');
    await pastMargin();
    countReads();
    const first = listDirSync(dir);
    expect(names(first)).toEqual(['a:file', 'b:file', 'sub:dir']);
    expect(Object.isFrozen(first)).toBe(true);
    // A file edited in place: the listing holds no content.
    writeFileSync(path.join(dir, 'a'), 'edited');
    expect(listDirSync(dir)).toBe(first);
    expect(listDirSync(dir)).toBe(first);
    expect(reads.get(dir)).toBe(1);
  });

  it('sees every change of names or kinds made since, and a directory gone or replaced', async () => {
    const dir = path.join(tmp.path, 'd');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'f'), 'f');
    const changes: [string, () => void][] = [
      [
        'a file added',
        () => {
          writeFileSync(path.join(dir, 'g'), 'g');
        },
      ],
      [
        'a file removed',
        () => {
          rmSync(path.join(dir, 'f'));
        },
      ],
      [
        'a file renamed',
        () => {
          renameSync(path.join(dir, 'g'), path.join(dir, 'h'));
        },
      ],
      [
        'a file replaced by a directory',
        () => {
          rmSync(path.join(dir, 'h'));
          mkdirSync(path.join(dir, 'h'));
        },
      ],
      [
        'the directory replaced by another',
        () => {
          rmSync(dir, { recursive: true });
          mkdirSync(dir);
          writeFileSync(path.join(dir, 'new'), 'n');
        },
      ],
    ];
    for (const [what, change] of changes) {
      await pastMargin();
      const before = listDirSync(dir);
      expect(listDirSync(dir), `${what}: kept`).toBe(before);
      change();
      const after = listDirSync(dir);
      expect(after, what).not.toBe(before);
      expect(names(after), what).toEqual(names(realReaddirSync(dir, { withFileTypes: true })));
    }
    await pastMargin();
    listDirSync(dir);
    rmSync(dir, { recursive: true });
    expect(() => listDirSync(dir)).toThrow(/ENOENT/);
    expect(() => listDirSync(path.join(tmp.path, 'never'))).toThrow(/ENOENT/);
  });

  it('reads again a directory changed less than the margin before its stat', () => {
    const dir = path.join(tmp.path, 'young');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'f'), 'f');
    // Its last change within the margin whatever the load: stamped 5 s ahead (as a clock skew).
    const ahead = Date.now() / 1000 + 5;
    utimesSync(dir, ahead, ahead);
    countReads();
    const first = listDirSync(dir);
    const second = listDirSync(dir);
    expect(second).not.toBe(first);
    expect(names(second)).toEqual(names(first));
    expect(reads.get(dir)).toBe(2);
  });
});

describe("a no-op's checks share one read per directory", () => {
  /** An ISO root like a build leaves it: image layouts, yum repos, a directory target. */
  function isoRoot(): { root: string; images: string; repos: string; repo: string } {
    const root = path.join(tmp.path, 'root');
    const images = path.join(root, 'images');
    const repos = path.join(root, 'packages', 'redhat');
    const repo = path.join(repos, 'p-base-el7');
    for (const v of ['a/1', 'b/2']) {
      mkdirSync(path.join(images, v), { recursive: true });
      writeFileSync(path.join(images, v, 'manifest.json'), v);
    }
    mkdirSync(path.join(repo, 'repodata'), { recursive: true });
    writeFileSync(path.join(repo, 'repodata', 'repomd.xml'), '<repomd/>');
    writeFileSync(path.join(repo, 'RPM-GPG-KEY-p'), 'key');
    return { root, images, repos, repo };
  }

  it('the temp sweep, dedup snapshot, closure repos, tree hash and ISO walk read each once', async () => {
    const t = isoRoot();
    await pastMargin();
    countReads();
    sweepDeadTemps([path.join(t.images, 'a', '1'), path.join(t.images, 'b', '2'), t.repos]);
    const snapshot = inodeSnapshot([t.images]);
    const repos = nodeRepos(t.repos);
    const treeHash = new FileHasher(new Map()).hashSync(t.repo);
    const walk = new ReusableWalk(t.root);
    const entries = walk.walk();
    expect(walk.walk()).toBe(entries);
    // What they found is what is there.
    expect(Object.keys(snapshot).map((p) => path.relative(t.images, p))).toEqual([
      'a/1/manifest.json',
      'b/2/manifest.json',
    ]);
    expect(repos.map((r) => [r.name, r.keys.map((k) => path.basename(k))])).toEqual([
      ['p-base-el7', ['RPM-GPG-KEY-p']],
    ]);
    expect(typeof treeHash).toBe('string');
    expect(entries.map((e) => e.rel)).toEqual(walkTreeSync(t.root).map((e) => e.rel));
    const dirs = entries.filter((e) => e.kind === 'dir').map((e) => e.path);
    for (const d of [t.root, ...dirs]) expect(reads.get(d) ?? 0, d).toBe(1);
  });

  it('a file added under a listed directory shows in every check after it', async () => {
    const t = isoRoot();
    await pastMargin();
    const hashBefore = new FileHasher(new Map()).hashSync(t.repo);
    const walk = new ReusableWalk(t.root);
    const before = walk.walk();
    expect(Object.keys(inodeSnapshot([t.images]))).toHaveLength(2);
    writeFileSync(path.join(t.images, 'a', '1', 'blob'), 'x');
    writeFileSync(path.join(t.repo, 'RPM-GPG-KEY-q'), 'key2');
    expect(Object.keys(inodeSnapshot([t.images]))).toHaveLength(3);
    expect(nodeRepos(t.repos)[0]?.keys.map((k) => path.basename(k))).toEqual([
      'RPM-GPG-KEY-p',
      'RPM-GPG-KEY-q',
    ]);
    expect(new FileHasher(new Map()).hashSync(t.repo)).not.toBe(hashBefore);
    const after = walk.walk();
    expect(after).not.toBe(before);
    expect(after.map((e) => e.rel)).toContain('images/a/1/blob');
  });
});
