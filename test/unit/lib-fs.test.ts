/**
 * lib/fs: the one atomic write (no temp left on any failure, a full disk included; modes
 * whatever the umask), the one tree walk (order, symlinks never followed) and the one sha256.
 */
import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  AtomicWriteError,
  copyFileAtomic,
  produceFileAtomic,
  writeFileAtomic,
  writeFileAtomicSync,
} from '../../buildchain/lib/fs/atomic-write.ts';
import { sha256Digest, sha256File, sha256Hex } from '../../buildchain/lib/fs/hash.ts';
import { linkOrCopy, replaceDir, stagingPathFor } from '../../buildchain/lib/fs/staging.ts';
import { ReusableWalk, walkTree, walkTreeSync } from '../../buildchain/lib/fs/walk.ts';
import { RACY_MS } from '../../buildchain/lib/fs/racy.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

// Fault injection: with `fault.code` set, async writes and copies write a few bytes to the
// temp file, then fail like a full disk.
const fault = vi.hoisted(() => ({ code: undefined as string | undefined }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const fsp = await importOriginal<typeof import('node:fs/promises')>();
  const injected = (): Error =>
    Object.assign(new Error(`${fault.code ?? ''}: injected`), { code: fault.code });
  const open = (async (...args: Parameters<typeof fsp.open>) => {
    const fh = await fsp.open(...args);
    if (fault.code === undefined) return fh;
    return Object.assign(Object.create(fh) as typeof fh, {
      writeFile: async () => {
        await fh.write('par');
        throw injected();
      },
    });
  }) as typeof fsp.open;
  const copyFile = (async (src: string, dest: string, mode?: number) => {
    if (fault.code === undefined) return fsp.copyFile(src, dest, mode);
    await fsp.writeFile(dest, 'par');
    throw injected();
  }) as typeof fsp.copyFile;
  return { ...fsp, default: { ...fsp, open, copyFile }, open, copyFile };
});

const SHA_ABC = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';
const SHA_EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

let tmp: TempDir;
beforeEach(async () => {
  tmp = await makeTempDir('mk8s-libfs-');
});
afterEach(async () => {
  fault.code = undefined;
  await tmp.cleanup();
});

const ls = (dir: string): string[] => readdirSync(dir).sort();
const modeOfFile = (file: string): number => statSync(file).mode & 0o777;

/** Runs `f` under umask `mask` (the default umask would hide a missing chmod). */
async function withUmask<T>(mask: number, f: () => Promise<T>): Promise<T> {
  const old = process.umask(mask);
  try {
    return await f();
  } finally {
    process.umask(old);
  }
}

describe('atomic write', () => {
  it('writes the data with the asked mode whatever the umask (default 0644)', async () => {
    const a = path.join(tmp.path, 'a');
    const b = path.join(tmp.path, 'sub', 'dir', 'b');
    await withUmask(0o077, async () => {
      await writeFileAtomic(a, 'hello');
      await writeFileAtomic(b, 'x', { mode: 0o755, mkdir: true });
      writeFileAtomicSync(`${a}.sync`, 'sync', { mode: 0o600 });
    });
    expect(readFileSync(a, 'utf8')).toBe('hello');
    expect(modeOfFile(a)).toBe(0o644);
    expect(modeOfFile(b)).toBe(0o755);
    expect(modeOfFile(`${a}.sync`)).toBe(0o600);
    expect(ls(tmp.path)).toEqual(['a', 'a.sync', 'sub']);
  });

  it('a full disk (ENOSPC) keeps the old file, leaves no temp and names the file', async () => {
    const file = path.join(tmp.path, 'out.json');
    await writeFileAtomic(file, 'old');
    fault.code = 'ENOSPC';
    const err = await writeFileAtomic(file, 'new').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AtomicWriteError);
    expect((err as AtomicWriteError).code).toBe('ENOSPC');
    expect((err as Error).message).toBe(`cannot write ${file}: no space left on device (ENOSPC)`);
    expect(ls(tmp.path)).toEqual(['out.json']);
    expect(readFileSync(file, 'utf8')).toBe('old');
  });

  it('a failing write into a missing directory leaves nothing', async () => {
    const file = path.join(tmp.path, 'missing', 'x');
    await expect(writeFileAtomic(file, 'x')).rejects.toThrow(
      /its directory does not exist \(ENOENT\)/,
    );
    expect(() => {
      writeFileAtomicSync(file, 'x');
    }).toThrow(AtomicWriteError);
    expect(ls(tmp.path)).toEqual([]);
  });

  it('copies keep the source mode (or take the asked one) whatever the umask', async () => {
    const src = path.join(tmp.path, 'src.sh');
    writeFileSync(src, '#!/bin/sh\n', { mode: 0o755 });
    await withUmask(0o077, async () => {
      await copyFileAtomic(src, path.join(tmp.path, 'out', 'kept.sh'), { mkdir: true });
      await copyFileAtomic(src, path.join(tmp.path, 'out', 'asked.sh'), { mode: 0o640 });
    });
    expect(readFileSync(path.join(tmp.path, 'out', 'kept.sh'), 'utf8')).toBe('#!/bin/sh\n');
    expect(modeOfFile(path.join(tmp.path, 'out', 'kept.sh'))).toBe(0o755);
    expect(modeOfFile(path.join(tmp.path, 'out', 'asked.sh'))).toBe(0o640);
    expect(ls(path.join(tmp.path, 'out'))).toEqual(['asked.sh', 'kept.sh']);
  });

  it('a copy failing with ENOSPC keeps the old file and leaves no temp', async () => {
    const src = path.join(tmp.path, 'src');
    const dest = path.join(tmp.path, 'dest');
    writeFileSync(src, 'new');
    writeFileSync(dest, 'old');
    fault.code = 'ENOSPC';
    await expect(copyFileAtomic(src, dest)).rejects.toMatchObject({ code: 'ENOSPC' });
    expect(ls(tmp.path)).toEqual(['dest', 'src']);
    expect(readFileSync(dest, 'utf8')).toBe('old');
  });

  it('a produced file: the producer error is rethrown as is and its temp is removed', async () => {
    const file = path.join(tmp.path, 'tool.out');
    const boom = new Error('tool failed');
    let seen = '';
    const err = await produceFileAtomic(file, async (t) => {
      seen = t;
      writeFileSync(t, 'half');
      await Promise.resolve();
      throw boom;
    }).catch((e: unknown) => e);
    expect(err).toBe(boom);
    expect(path.basename(seen)).toMatch(/^tool\.out\.tmp-\d+-[0-9a-f]{8}$/);
    expect(ls(tmp.path)).toEqual([]);
    await produceFileAtomic(
      file,
      async (t) => {
        writeFileSync(t, 'whole');
        await Promise.resolve();
      },
      { mode: 0o600 },
    );
    expect(readFileSync(file, 'utf8')).toBe('whole');
    expect(modeOfFile(file)).toBe(0o600);
  });
});

describe('staging', () => {
  it('replaceDir swaps a complete staging tree in, with or without an old one, leaving nothing beside', async () => {
    const dest = path.join(tmp.path, 'out');
    for (const content of ['first', 'second']) {
      const staging = stagingPathFor(dest);
      expect(path.basename(staging)).toMatch(/^out\.staging-\d+-[0-9a-f]{8}$/);
      mkdirSync(staging);
      writeFileSync(path.join(staging, 'f'), content);
      await replaceDir(staging, dest);
      expect(readFileSync(path.join(dest, 'f'), 'utf8')).toBe(content);
      expect(ls(tmp.path)).toEqual(['out']);
    }
  });

  it('linkOrCopy hard-links when it can; an existing destination is an error unless existingOk', async () => {
    const src = path.join(tmp.path, 'src');
    const dst = path.join(tmp.path, 'dst');
    writeFileSync(src, 'x');
    expect(await linkOrCopy(src, dst)).toBe(true);
    expect(statSync(dst).ino).toBe(statSync(src).ino);
    await expect(linkOrCopy(src, dst)).rejects.toMatchObject({ code: 'EEXIST' });
    expect(await linkOrCopy(src, dst, { existingOk: true })).toBe(false);
  });
});

describe('walk', () => {
  function plant(): { root: string; outside: string } {
    const root = path.join(tmp.path, 'root');
    const outside = path.join(tmp.path, 'outside');
    mkdirSync(path.join(outside, 'deep'), { recursive: true });
    writeFileSync(path.join(outside, 'deep', 'secret'), 's');
    mkdirSync(path.join(root, 'b', 'c'), { recursive: true });
    mkdirSync(path.join(root, 'a'));
    writeFileSync(path.join(root, 'b', 'c', 'z'), 'z');
    writeFileSync(path.join(root, 'b', 'Y'), 'y');
    writeFileSync(path.join(root, 'a.txt'), 'a');
    symlinkSync(outside, path.join(root, 'b', 'out-dir'));
    symlinkSync(path.join(outside, 'deep', 'secret'), path.join(root, 'link-file'));
    return { root, outside };
  }

  it('lists every entry pre-order, names sorted at each level, lstat kinds', async () => {
    const { root } = plant();
    const expected = [
      ['a', 'dir'],
      ['a.txt', 'file'],
      ['b', 'dir'],
      ['b/Y', 'file'],
      ['b/c', 'dir'],
      ['b/c/z', 'file'],
      ['b/out-dir', 'symlink'],
      ['link-file', 'symlink'],
    ];
    const got = (await walkTree(root)).map((e) => [e.rel, e.kind]);
    expect(got).toEqual(expected);
    expect(walkTreeSync(root).map((e) => [e.rel, e.kind])).toEqual(expected);
    expect((await walkTree(root))[5]?.path).toBe(path.join(root, 'b', 'c', 'z'));
  });

  it('never follows a symlink out of the tree', async () => {
    const { root } = plant();
    const rels = (await walkTree(root)).map((e) => e.rel);
    expect(rels.some((r) => r.includes('deep') || r.includes('secret'))).toBe(false);
    expect(lstatSync(path.join(root, 'b', 'out-dir')).isSymbolicLink()).toBe(true);
  });

  it('a filter leaves entries out, and a left-out directory is not entered', async () => {
    const { root } = plant();
    const got = await walkTree(root, { filter: (e) => e.rel !== 'b/c' && e.kind !== 'symlink' });
    expect(got.map((e) => e.rel)).toEqual(['a', 'a.txt', 'b', 'b/Y']);
  });

  it('a missing root is an error unless missingOk', async () => {
    const missing = path.join(tmp.path, 'nope');
    await expect(walkTree(missing)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(() => walkTreeSync(missing)).toThrow(/ENOENT/);
    expect(await walkTree(missing, { missingOk: true })).toEqual([]);
    expect(walkTreeSync(missing, { missingOk: true })).toEqual([]);
  });
});

describe('ReusableWalk', () => {
  const RACY = RACY_MS;
  const pastMargin = (): Promise<void> => new Promise((r) => setTimeout(r, RACY + 15));
  const rels = (entries: readonly { rel: string; kind: string }[]): string[] =>
    entries.map((e) => `${e.rel}:${e.kind}`);
  const tree = (): string => {
    const root = path.join(tmp.path, 'tree');
    mkdirSync(path.join(root, 'b', 'c'), { recursive: true });
    writeFileSync(path.join(root, 'a.txt'), 'a');
    writeFileSync(path.join(root, 'b', 'c', 'z'), 'z');
    return root;
  };
  /** Past the margin, a walk kept: the next call gives the same array. */
  const settled = async (w: ReusableWalk): Promise<readonly unknown[]> => {
    await pastMargin();
    const first = w.walk();
    expect(w.walk()).toBe(first);
    return first;
  };

  it('gives the list of the last walk while no directory changed (a file edited in place too)', async () => {
    const root = tree();
    const w = new ReusableWalk(root);
    const kept = await settled(w);
    expect(rels(w.walk())).toEqual(rels(walkTreeSync(root)));
    // Same names and kinds: the list holds no content.
    writeFileSync(path.join(root, 'b', 'c', 'z'), 'edited');
    expect(w.walk()).toBe(kept);
  });

  it('sees every change of names or kinds made since, however deep', async () => {
    const root = tree();
    const w = new ReusableWalk(root);
    const changes: [string, () => void][] = [
      [
        'a file added deep',
        () => {
          writeFileSync(path.join(root, 'b', 'c', 'new'), 'n');
        },
      ],
      [
        'a file removed',
        () => {
          rmSync(path.join(root, 'a.txt'));
        },
      ],
      [
        'a renamed file',
        () => {
          renameSync(path.join(root, 'b', 'c', 'z'), path.join(root, 'b', 'c', 'y'));
        },
      ],
      [
        'a file replaced by a directory',
        () => {
          rmSync(path.join(root, 'b', 'c', 'new'));
          mkdirSync(path.join(root, 'b', 'c', 'new'));
        },
      ],
      [
        'a directory added at the top',
        () => {
          mkdirSync(path.join(root, 'd'));
        },
      ],
      [
        'a directory removed',
        () => {
          rmSync(path.join(root, 'b'), { recursive: true });
        },
      ],
    ];
    for (const [what, change] of changes) {
      const before = await settled(w);
      change();
      const after = w.walk();
      expect(after, what).not.toBe(before);
      expect(rels(after), what).toEqual(rels(walkTreeSync(root)));
    }
  });

  it('walks again a tree changed less than the margin before the walk', () => {
    const root = tree();
    // Its last change within the margin whatever the load: stamped 5 s ahead (as a clock skew).
    const ahead = Date.now() / 1000 + 5;
    utimesSync(path.join(root, 'b'), ahead, ahead);
    const w = new ReusableWalk(root);
    const first = w.walk();
    const second = w.walk();
    expect(second).not.toBe(first);
    expect(rels(second)).toEqual(rels(first));
  });

  it('a missing root (missingOk) is empty, and walked again: created later, its entries show', async () => {
    const root = path.join(tmp.path, 'later');
    const w = new ReusableWalk(root, { missingOk: true });
    expect(w.walk()).toEqual([]);
    await pastMargin();
    expect(w.walk()).toEqual([]);
    mkdirSync(root);
    writeFileSync(path.join(root, 'f'), 'f');
    expect(rels(w.walk())).toEqual(['f:file']);
    expect(() => new ReusableWalk(path.join(tmp.path, 'nope')).walk()).toThrow(/ENOENT/);
  });
});

describe('sha256', () => {
  it('of a file (streamed), of bytes and of text agree with the known digests', async () => {
    const file = path.join(tmp.path, 'abc');
    writeFileSync(file, 'abc');
    writeFileSync(path.join(tmp.path, 'empty'), '');
    expect(await sha256File(file)).toBe(SHA_ABC);
    expect(await sha256File(path.join(tmp.path, 'empty'))).toBe(SHA_EMPTY);
    expect(sha256Hex('abc')).toBe(SHA_ABC);
    expect(sha256Hex(Buffer.from('abc'))).toBe(SHA_ABC);
    expect(sha256Digest('')).toBe(`sha256:${SHA_EMPTY}`);
  });

  it('of a file larger than one read (4 MiB) equals the in-memory digest', async () => {
    const data = Buffer.alloc((4 << 20) + 12345, 7);
    const file = path.join(tmp.path, 'big');
    writeFileSync(file, data);
    expect(await sha256File(file)).toBe(sha256Hex(data));
  });

  it('rejects a missing file with ENOENT', async () => {
    await expect(sha256File(path.join(tmp.path, 'nope'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
