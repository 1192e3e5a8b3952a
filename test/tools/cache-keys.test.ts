/**
 * The build cache's pure parts and its files: portable keys (same key for two clones in
 * different directories, refused when the inputs name the machine), deterministic tar layers
 * (same bytes whatever the mtimes, inodes and hard links), a packed artifact restored and
 * checked, the settings and the `cache` command line.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBuildCache } from '../../buildchain/config/build-cache.ts';
import { parseSettings } from '../../buildchain/config/settings.ts';
import { cacheCommandArgs, parseAge, parseCacheArgs } from '../../buildchain/cli/cache.ts';
import {
  CorruptEntryError,
  EntryNotUsableError,
  packArtifact,
  unpackArtifact,
  type PackedArtifact,
} from '../../buildchain/engine/cache/artifact.ts';
import {
  CacheKeys,
  machineSpecific,
  portableText,
  versionLines,
} from '../../buildchain/engine/cache/key.ts';
import { FileHasher } from '../../buildchain/engine/fingerprint.ts';
import { hasherVouches, primeHasher } from '../../buildchain/engine/cache/task-cache.ts';
import { tarStream, type TarEntry } from '../../buildchain/engine/cache/tar.ts';
import { TaskGraph } from '../../buildchain/engine/graph.ts';
import { cmd, type TaskDefinition } from '../../buildchain/engine/task.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

let tmp: TempDir;
beforeAll(async () => {
  tmp = await makeTempDir('mk8s-cache-keys-');
});
afterAll(async () => {
  await tmp.cleanup();
});

/** A clone at `dir`: an input file and two tasks whose definitions name their paths. */
function cloneAt(dir: string, input: string): TaskGraph {
  mkdirSync(path.join(dir, '_build'), { recursive: true });
  writeFileSync(path.join(dir, 'input.txt'), input);
  const b = path.join(dir, '_build');
  const defs: TaskDefinition[] = [
    {
      name: 'gen',
      fileDeps: [path.join(dir, 'input.txt')],
      targets: [path.join(b, 'gen.txt')],
      config: { out: path.join(b, 'gen.txt') },
      actions: [cmd(['cp', path.join(dir, 'input.txt'), path.join(b, 'gen.txt')])],
      cacheable: true,
    },
    {
      name: 'use',
      taskDeps: ['gen'],
      fileDeps: [path.join(b, 'gen.txt')],
      targets: [path.join(b, 'use.txt')],
      actions: [cmd(['cp', path.join(b, 'gen.txt'), path.join(b, 'use.txt')])],
      cacheable: true,
    },
  ];
  return new TaskGraph(dir, defs);
}

function keys(graph: TaskGraph, env: Record<string, string> = {}): CacheKeys {
  return new CacheKeys({
    graph,
    buildRoot: path.join(graph.root, '_build'),
    hasher: new FileHasher(new Map()),
    envValues: env,
    toolVersions: () => Promise.resolve({}),
  });
}

async function keyOf(k: CacheKeys, name: string): Promise<string> {
  const r = await k.keyOf(name);
  if ('refused' in r) throw new Error(r.refused);
  return r.key;
}

/**
 * A download directory `dl/` whose files (name → content) are hard-linked into `repo/` beside
 * a repomd.xml, under `<src>/_build`, packed as the repo's entry with `dl/` as its link source.
 */
async function packLinkedRepo(
  src: string,
  files: Readonly<Record<string, string>>,
): Promise<Awaited<ReturnType<typeof packArtifact>>> {
  const b = path.join(src, '_build');
  mkdirSync(path.join(b, 'dl'), { recursive: true });
  mkdirSync(path.join(b, 'repo'), { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(path.join(b, 'dl', name), content);
    linkSync(path.join(b, 'dl', name), path.join(b, 'repo', name));
  }
  writeFileSync(path.join(b, 'repo', 'repomd.xml'), '<repomd/>');
  return packArtifact({
    task: 'repo',
    key: 'k'.repeat(64),
    format: 2,
    outputs: [path.join(b, 'repo')],
    linkFrom: [path.join(b, 'dl')],
    root: src,
    buildRoot: b,
    workDir: path.join(b, '.buildchain', 'cache-tmp'),
  });
}

describe('portable cache keys', () => {
  it('two clones in different directories compute the same keys; content changes them', async () => {
    const one = cloneAt(path.join(tmp.path, 'one', 'metalk8s'), 'same\n');
    const two = cloneAt(path.join(tmp.path, 'elsewhere', 'two'), 'same\n');
    writeFileSync(path.join(one.root, '_build', 'gen.txt'), 'same\n');
    writeFileSync(path.join(two.root, '_build', 'gen.txt'), 'same\n');
    expect(await keyOf(keys(one), 'gen')).toBe(await keyOf(keys(two), 'gen'));
    expect(await keyOf(keys(one), 'use')).toBe(await keyOf(keys(two), 'use'));
    expect(await keyOf(keys(one), 'gen')).toMatch(/^[a-f0-9]{64}$/);
    const three = cloneAt(path.join(tmp.path, 'three'), 'other\n');
    writeFileSync(path.join(three.root, '_build', 'gen.txt'), 'other\n');
    expect(await keyOf(keys(three), 'gen')).not.toBe(await keyOf(keys(one), 'gen'));
    // A dependency's key is part of its dependents' keys.
    expect(await keyOf(keys(three), 'use')).not.toBe(await keyOf(keys(one), 'use'));
  });

  it('tool versions count by their first line (gpg prints its home directory after it)', () => {
    expect(
      versionLines({
        gpg: 'gpg (GnuPG) 2.2.40\nlibgcrypt 1.10.1\nHome: /root/.gnupg\n',
        rpm: '\nRPM version 4.18.0\n',
      }),
    ).toEqual({ gpg: 'gpg (GnuPG) 2.2.40', rpm: 'RPM version 4.18.0' });
  });

  it('paths become $ROOT/$BUILD_ROOT (the longer first); the home directory or host name refuses a key', async () => {
    expect(portableText('"/r/x/_build/a" "/r/x/b"', '/r/x', '/r/x/_build')).toBe(
      '"$BUILD_ROOT/a" "$ROOT/b"',
    );
    expect(portableText('/elsewhere/b', '/r/x', '/elsewhere')).toBe('$BUILD_ROOT/b');
    const home = os.homedir();
    expect(machineSpecific(JSON.stringify({ GNUPGHOME: `${home}/.gnupg` }))).toBe(
      `the home directory ${home}`,
    );
    // `$BUILD_ROOT/root/...` (the ISO root) is not /root.
    expect(machineSpecific('"$BUILD_ROOT/root/images" "$ROOT/root"')).toBeUndefined();
    const host = os.hostname();
    if (host.length >= 6 && host !== 'localhost')
      expect(machineSpecific(`"built on ${host}"`)).toBe(`the host name ${host}`);
    const g = cloneAt(path.join(tmp.path, 'envy'), 'x\n');
    const def = g.get('gen').def as { envKeys?: string[] };
    Object.assign(def, { envKeys: ['GNUPGHOME'] });
    const refused = await new CacheKeys({
      graph: g,
      buildRoot: path.join(g.root, '_build'),
      hasher: new FileHasher(new Map()),
      envValues: { GNUPGHOME: path.join(home, '.gnupg') },
      toolVersions: () => Promise.resolve({}),
    }).keyOf('gen');
    expect(refused).toEqual({
      refused: `its declared env values name the home directory ${home}`,
    });
  });
});

/** A tree with a file, an executable, a symlink, a subdirectory and a hard link. */
function makeTree(dir: string, mtime: number): void {
  mkdirSync(path.join(dir, 'out', 'tree', 'sub'), { recursive: true });
  writeFileSync(path.join(dir, 'out', 'gen.txt'), 'generated\n');
  writeFileSync(path.join(dir, 'out', 'tree', 'sub', 'a'), 'a'.repeat(700));
  writeFileSync(path.join(dir, 'out', 'tree', 'run.sh'), '#!/bin/sh\n');
  chmodSync(path.join(dir, 'out', 'tree', 'run.sh'), 0o755);
  symlinkSync('a', path.join(dir, 'out', 'tree', 'sub', 'link'));
  const long = `${'d'.repeat(60)}/${'e'.repeat(70)}`;
  mkdirSync(path.join(dir, 'out', 'tree', path.dirname(long)), { recursive: true });
  writeFileSync(path.join(dir, 'out', 'tree', long), 'long name\n');
  for (const f of ['out/gen.txt', 'out/tree/sub/a', 'out/tree/run.sh'])
    utimesSync(path.join(dir, f), mtime, mtime);
}

async function pack(dir: string): Promise<PackedArtifact> {
  return packArtifact({
    task: 'gen',
    key: 'k'.repeat(64),
    format: 1,
    outputs: [path.join(dir, '_build', 'out', 'gen.txt'), path.join(dir, '_build', 'out', 'tree')],
    root: dir,
    buildRoot: path.join(dir, '_build'),
    workDir: path.join(dir, '_build', '.buildchain', 'cache-tmp'),
  });
}

describe('deterministic layers, checked restores', () => {
  it('the same tree gives the same layer bytes whatever the mtimes and hard links', async () => {
    const a = path.join(tmp.path, 'tar-a');
    const b = path.join(tmp.path, 'tar-b', 'deeper');
    makeTree(path.join(a, '_build'), 1_000_000);
    makeTree(path.join(b, '_build'), 2_000_000);
    // In b, one file is a hard link of a file outside the outputs (the blob store's way).
    const outside = path.join(b, '_build', 'blob');
    writeFileSync(outside, 'generated\n');
    const gen = path.join(b, '_build', 'out', 'gen.txt');
    execFileSync('rm', [gen]);
    linkSync(outside, gen);
    const pa = await pack(a);
    const pb = await pack(b);
    expect(pa.layerDigest).toBe(pb.layerDigest);
    expect(readFileSync(pa.layerFile).equals(readFileSync(pb.layerFile))).toBe(true);
    expect(pa.config).toEqual(pb.config);
    expect(pa.config.outputs).toEqual(['B/out/gen.txt', 'B/out/tree']);
    // GNU tar reads it: entries, the symlink, the long name.
    const listing = execFileSync('tar', ['-tvf', pa.layerFile]).toString();
    expect(listing).toMatch(/lrwxrwxrwx .* B\/out\/tree\/sub\/link -> a/);
    expect(listing).toContain(`B/out/tree/${'d'.repeat(60)}/${'e'.repeat(70)}`);
    expect(listing).toMatch(/-rwxr-xr-x .* B\/out\/tree\/run\.sh/);
  });

  it('packing reads each file of the layer once (hashed as it is archived)', async () => {
    const a = path.join(tmp.path, 'pack-once');
    const b = path.join(a, '_build');
    mkdirSync(path.join(b, 'dl'), { recursive: true });
    const big = Buffer.alloc(16 * 1024 * 1024, 7);
    writeFileSync(path.join(b, 'dl', 'big.rpm'), big);
    const rchar = (): number =>
      Number(/rchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? NaN);
    const before = rchar();
    const packed = await packArtifact({
      task: 'dl',
      key: 'k'.repeat(64),
      format: 2,
      outputs: [path.join(b, 'dl')],
      root: a,
      buildRoot: b,
      workDir: path.join(b, '.buildchain', 'cache-tmp'),
    });
    const read = rchar() - before;
    // Once: 16 MiB and a little (directories, /proc); twice would be 32 MiB.
    expect(read).toBeGreaterThanOrEqual(big.length);
    expect(read).toBeLessThan(big.length * 1.25);
    const sha = execFileSync('sha256sum', [path.join(b, 'dl', 'big.rpm')])
      .toString()
      .split(' ')[0];
    expect(packed.config.entries.find((e) => e.path === 'B/dl/big.rpm')?.sha256).toBe(sha);
  });

  it("packing a repo reuses its linked files' sha256 from the download's packing when the hasher vouches for them", async () => {
    const a = path.join(tmp.path, 'pack-vouch');
    const b = path.join(a, '_build');
    mkdirSync(path.join(b, 'dl'), { recursive: true });
    const big = Buffer.alloc(8 * 1024 * 1024, 9);
    const dlFile = path.join(b, 'dl', 'big.rpm');
    writeFileSync(dlFile, big);
    const io = {
      key: 'k'.repeat(64),
      format: 2,
      root: a,
      buildRoot: b,
      workDir: path.join(b, '.buildchain', 'cache-tmp'),
    };
    const rchar = (): number =>
      Number(/rchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? NaN);
    // The download is packed (its sha256 known), then the repo links its RPM: new ctime.
    await packArtifact({ ...io, task: 'dl', outputs: [path.join(b, 'dl')] });
    mkdirSync(path.join(b, 'repo'));
    const repoFile = path.join(b, 'repo', 'big.rpm');
    linkSync(dlFile, repoFile);
    const packRepo = async (hasher: FileHasher): Promise<number> => {
      const before = rchar();
      const packed = await packArtifact({
        ...io,
        task: 'repo',
        outputs: [path.join(b, 'repo')],
        linkFrom: [path.join(b, 'dl')],
        trustedHash: (f, st, sha) => hasherVouches(hasher, f, st, sha),
      });
      const read = rchar() - before;
      // (sha256sum's reads count into this process's once it is reaped: after the measure.)
      const sha = execFileSync('sha256sum', [dlFile]).toString().split(' ')[0];
      expect(packed.config.entries.find((e) => e.path === 'B/repo/big.rpm')?.sha256).toBe(sha);
      return read;
    };
    // A racy record (taken within RACY_MS of the link) is not trusted: the file is read.
    const racy = new FileHasher(new Map());
    const st = statSync(repoFile);
    const short = createHash('sha256').update(big).digest('base64url').slice(0, 22);
    racy.cache.set(repoFile, [st.mtimeMs, st.size, st.ino, short, 0, st.ctimeMs]);
    expect(await packRepo(racy)).toBeGreaterThanOrEqual(big.length);
    // Linked again (a new ctime), recorded past the racy margin: vouched for, not read.
    execFileSync('rm', [repoFile]);
    linkSync(dlFile, repoFile);
    await new Promise((r) => setTimeout(r, 40));
    const hasher = new FileHasher(new Map());
    await hasher.hash(repoFile);
    expect(hasher.cache.get(repoFile)?.[4]).toBe(1);
    expect(await packRepo(hasher)).toBeLessThan(big.length / 4);
  });

  it('restores files over and under the in-memory size alike: bytes, modes, sha256 checked before use', async () => {
    const a = path.join(tmp.path, 'sizes-src');
    makeTree(path.join(a, '_build'), 1_000_000);
    // Over 1 MiB (streamed to disk), executable; the others are small (written at once).
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 'b');
    writeFileSync(path.join(a, '_build', 'out', 'tree', 'big.bin'), big);
    chmodSync(path.join(a, '_build', 'out', 'tree', 'big.bin'), 0o755);
    const packed = await pack(a);
    const restoreInto = async (name: string, config: typeof packed.config): Promise<string> => {
      const dest = path.join(tmp.path, name);
      mkdirSync(dest, { recursive: true });
      await unpackArtifact({
        layerFile: packed.layerFile,
        config,
        root: dest,
        buildRoot: path.join(dest, '_build'),
        workDir: path.join(dest, '_build', '.buildchain', 'cache-tmp'),
      });
      return path.join(dest, '_build', 'out');
    };
    const out = await restoreInto('sizes-ok', packed.config);
    expect(readFileSync(path.join(out, 'tree', 'big.bin')).equals(big)).toBe(true);
    expect(statSync(path.join(out, 'tree', 'big.bin')).mode & 0o777).toBe(0o755);
    expect(statSync(path.join(out, 'tree', 'run.sh')).mode & 0o777).toBe(0o755);
    expect(statSync(path.join(out, 'gen.txt')).mode & 0o777).toBe(0o644);
    expect(readFileSync(path.join(out, 'tree', 'sub', 'a'), 'utf8')).toBe('a'.repeat(700));
    // A recorded sha256 that the big file or a small one does not have: refused, nothing moves.
    for (const target of ['B/out/tree/big.bin', 'B/out/tree/sub/a']) {
      const lying = {
        ...packed.config,
        entries: packed.config.entries.map((e) =>
          e.path === target ? { ...e, sha256: '0'.repeat(64) } : e,
        ),
      };
      const name = `sizes-lying-${path.basename(target)}`;
      await expect(restoreInto(name, lying)).rejects.toThrow(
        `${target} does not match its recorded sha256`,
      );
      expect(existsSync(path.join(tmp.path, name, '_build', 'out'))).toBe(false);
    }
  });

  it('restores into place after checking; a tampered layer or config is refused and nothing moves', async () => {
    const a = path.join(tmp.path, 'restore-src');
    makeTree(path.join(a, '_build'), 1_000_000);
    const packed = await pack(a);
    const dest = path.join(tmp.path, 'restore-dest');
    mkdirSync(path.join(dest, '_build', 'out', 'tree'), { recursive: true });
    writeFileSync(path.join(dest, '_build', 'out', 'tree', 'stale'), 'old');
    const io = {
      layerFile: packed.layerFile,
      root: dest,
      buildRoot: path.join(dest, '_build'),
      workDir: path.join(dest, '_build', '.buildchain', 'cache-tmp'),
    };
    // A config recording another content for one file: refused, nothing moved.
    const lying = {
      ...packed.config,
      entries: packed.config.entries.map((e) =>
        e.path === 'B/out/gen.txt' ? { ...e, sha256: '0'.repeat(64) } : e,
      ),
    };
    await expect(unpackArtifact({ ...io, config: lying })).rejects.toThrow(CorruptEntryError);
    expect(readFileSync(path.join(dest, '_build', 'out', 'tree', 'stale'), 'utf8')).toBe('old');
    // An entry the config does not list: refused.
    const short = {
      ...packed.config,
      entries: packed.config.entries.filter((e) => !e.path.endsWith('/link')),
    };
    await expect(unpackArtifact({ ...io, config: short })).rejects.toThrow(
      /unexpected B\/out\/tree\/sub\/link/,
    );
    // The real config: the outputs replace what was there (the stale file is gone).
    await unpackArtifact({ ...io, config: packed.config });
    expect(readFileSync(path.join(dest, '_build', 'out', 'gen.txt'), 'utf8')).toBe('generated\n');
    expect(() => readFileSync(path.join(dest, '_build', 'out', 'tree', 'stale'))).toThrow();
    expect(
      execFileSync('ls', [path.join(dest, '_build', '.buildchain', 'cache-tmp')]).toString(),
    ).not.toMatch(/restore-/);
  });
});

describe('key inputs and linked files', () => {
  it("a task's keyInputs go into its key (and its task dependents'), made portable", async () => {
    const dir = path.join(tmp.path, 'inputs');
    const graphWith = (pin: string, dir = path.join(tmp.path, 'inputs')): TaskGraph =>
      new TaskGraph(dir, [
        {
          name: 'dl',
          targets: [path.join(dir, '_build', 'dl.txt')],
          actions: [cmd(['true'])],
          cacheable: { keyInputs: () => Promise.resolve({ pin, at: path.join(dir, 'x') }) },
        },
        {
          name: 'repo',
          taskDeps: ['dl'],
          targets: [path.join(dir, '_build', 'repo')],
          actions: [cmd(['true'])],
          cacheable: true,
        },
      ]);
    const one = keys(graphWith('1'));
    const again = keys(graphWith('1', path.join(tmp.path, 'elsewhere', 'inputs')));
    const two = keys(graphWith('2'));
    expect(await keyOf(one, 'dl')).toBe(await keyOf(again, 'dl'));
    expect(await keyOf(one, 'dl')).not.toBe(await keyOf(two, 'dl'));
    expect(await keyOf(one, 'repo')).not.toBe(await keyOf(two, 'repo'));
    // A key input naming the machine refuses the key, as any other part.
    const home = new TaskGraph(dir, [
      {
        name: 'dl',
        targets: [path.join(dir, '_build', 'dl.txt')],
        actions: [cmd(['true'])],
        cacheable: { keyInputs: () => Promise.resolve({ home: os.homedir() }) },
      },
    ]);
    expect(await keys(home).keyOf('dl')).toEqual({
      refused: `its key inputs name the home directory ${os.homedir()}`,
    });
  });

  it('a hard link of a linkFrom file is recorded, not stored; restored as a link once it matches', async () => {
    const packed = await packLinkedRepo(path.join(tmp.path, 'link-src'), {
      'big.rpm': 'R'.repeat(100_000),
    });
    expect(packed.config.entries.find((e) => e.path === 'B/repo/big.rpm')).toMatchObject({
      link: 'B/dl/big.rpm',
      size: 100_000,
    });
    expect(packed.layerSize).toBeLessThan(10_000);
    expect(execFileSync('tar', ['-tf', packed.layerFile]).toString()).not.toContain('big.rpm');

    // Elsewhere, with the dependency's output in place: linked, not copied.
    const dest = path.join(tmp.path, 'link-dest');
    const db = path.join(dest, '_build');
    mkdirSync(path.join(db, 'dl'), { recursive: true });
    writeFileSync(path.join(db, 'dl', 'big.rpm'), 'R'.repeat(100_000));
    const io = {
      layerFile: packed.layerFile,
      config: packed.config,
      root: dest,
      buildRoot: db,
      workDir: path.join(db, '.buildchain', 'cache-tmp'),
    };
    const placed = await unpackArtifact(io);
    expect(statSync(path.join(db, 'repo', 'big.rpm')).ino).toBe(
      statSync(path.join(db, 'dl', 'big.rpm')).ino,
    );
    expect(readFileSync(path.join(db, 'repo', 'repomd.xml'), 'utf8')).toBe('<repomd/>');
    // The link's source too: its ctime changed (the hasher is told its post-link stat).
    expect(placed.map((f) => path.relative(db, f.path)).sort()).toEqual([
      'dl/big.rpm',
      'repo/big.rpm',
      'repo/repomd.xml',
    ]);

    // The dependency's output differs here (or is missing): not usable, nothing moves.
    const other = path.join(tmp.path, 'link-other');
    const ob = path.join(other, '_build');
    mkdirSync(path.join(ob, 'dl'), { recursive: true });
    mkdirSync(path.join(ob, 'repo'), { recursive: true });
    writeFileSync(path.join(ob, 'repo', 'old'), 'old');
    const oio = { ...io, root: other, buildRoot: ob, workDir: path.join(ob, '.cache-tmp') };
    await expect(unpackArtifact(oio)).rejects.toThrow(
      /big\.rpm links to B\/dl\/big\.rpm, which is missing here/,
    );
    writeFileSync(path.join(ob, 'dl', 'big.rpm'), 'X'.repeat(100_000));
    await expect(unpackArtifact(oio)).rejects.toThrow(EntryNotUsableError);
    expect(readFileSync(path.join(ob, 'repo', 'old'), 'utf8')).toBe('old');
    // An entry claiming a link for a file the layer holds is corrupt.
    const fake = {
      ...packed.config,
      entries: packed.config.entries.map((e) =>
        e.path === 'B/repo/repomd.xml' ? { ...e, link: 'B/dl/big.rpm' } : e,
      ),
    };
    await expect(unpackArtifact({ ...io, config: fake })).rejects.toThrow(CorruptEntryError);
  });

  it('files restored as links (both names) are recorded with their post-link stat: the next evaluation reads neither', async () => {
    const packed = await packLinkedRepo(path.join(tmp.path, 'relink-src'), {
      'a.rpm': 'a'.repeat(50_000),
      'b.rpm': 'b'.repeat(50_000),
      'c.rpm': 'c'.repeat(50_000),
    });
    // Elsewhere: the download in place, hashed by an earlier evaluation (trusted records).
    const dest = path.join(tmp.path, 'relink-dest');
    const db = path.join(dest, '_build');
    mkdirSync(path.join(db, 'dl'), { recursive: true });
    const dl = ['a', 'b', 'c'].map((n) => path.join(db, 'dl', `${n}.rpm`));
    for (const f of dl) writeFileSync(f, path.basename(f, '.rpm').repeat(50_000));
    const past = new Date(Date.now() - 60_000);
    for (const f of dl) utimesSync(f, past, past);
    await new Promise((r) => setTimeout(r, 40));
    const hasher = new FileHasher(new Map());
    const hashes = new Map<string, string | undefined>();
    for (const f of dl) hashes.set(path.basename(f), await hasher.hash(f));
    for (const f of dl) expect(hasher.cache.get(f)?.[4]).toBe(1);

    const placed = await unpackArtifact({
      layerFile: packed.layerFile,
      config: packed.config,
      root: dest,
      buildRoot: db,
      workDir: path.join(db, '.buildchain', 'cache-tmp'),
    });
    // As TaskCache.restore does.
    for (const f of placed) primeHasher(hasher, f);
    const linked = ['a', 'b', 'c'].flatMap((n) => [
      path.join(db, 'dl', `${n}.rpm`),
      path.join(db, 'repo', `${n}.rpm`),
    ]);
    for (const f of linked) {
      const st = statSync(f);
      expect(st.nlink).toBe(2);
      // The record is of the stat after linking, trusted: no read on the next lookup.
      expect(hasher.cache.get(f)).toEqual([
        st.mtimeMs,
        st.size,
        st.ino,
        hashes.get(path.basename(f)),
        1,
        st.ctimeMs,
      ]);
    }
    const next = new FileHasher(hasher.cache);
    for (const f of linked) expect(next.peek(f)).toBe(hashes.get(path.basename(f)));
    // Nothing linked left racy for the end of the build to read again (the file the restore
    // wrote itself is, unless written longer than the margin before it was moved into place).
    const repomd = path.join(db, 'repo', 'repomd.xml');
    expect([...hasher.cache].filter(([f, r]) => r[4] !== 1 && f !== repomd)).toEqual([]);

    // A linked file changed after the restore checked it is not primed: it is read again.
    const changed = path.join(db, 'repo', 'a.rpm');
    const st = statSync(changed);
    writeFileSync(changed, 'z'.repeat(50_000));
    primeHasher(next, {
      path: changed,
      sha256: '0'.repeat(64),
      stat: { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs },
      trusted: true,
    });
    expect(next.cache.get(changed)).toBeUndefined();
  });

  it('a layer writing through a symlink, a hard link entry or a truncated layer is refused; nothing escapes', async () => {
    const dest = path.join(tmp.path, 'evil-dest');
    const db = path.join(dest, '_build');
    const outside = path.join(tmp.path, 'evil-outside');
    mkdirSync(outside, { recursive: true });
    mkdirSync(db, { recursive: true });
    const io = { root: dest, buildRoot: db, workDir: path.join(db, '.cache-tmp') };
    const layerOf = async (entries: TarEntry[], name: string): Promise<string> => {
      const file = path.join(tmp.path, name);
      const chunks: Buffer[] = [];
      for await (const c of tarStream(entries)) chunks.push(c);
      writeFileSync(file, Buffer.concat(chunks));
      return file;
    };
    const src = path.join(tmp.path, 'evil-src');
    writeFileSync(src, 'pwned');
    const sha = execFileSync('sha256sum', [src]).toString().split(' ')[0] ?? '';
    // A symlink to a directory outside, then a file "under" it: both in the (lying) config.
    const config = {
      format: 2,
      task: 'gen',
      key: 'k'.repeat(64),
      outputs: ['B/out'],
      entries: [
        { path: 'B/out', type: 'dir' as const },
        { path: 'B/out/esc', type: 'symlink' as const, target: outside },
        { path: 'B/out/esc/pwned', type: 'file' as const, exec: false, size: 5, sha256: sha },
      ],
    };
    const layerFile = await layerOf(
      [
        { path: 'B/out', type: 'dir' },
        { path: 'B/out/esc', type: 'symlink', target: outside },
        { path: 'B/out/esc/pwned', type: 'file', size: 5, source: src },
      ],
      'evil-symlink.tar',
    );
    await expect(unpackArtifact({ ...io, layerFile, config })).rejects.toThrow(
      /B\/out\/esc\/pwned is not under a directory of the entry/,
    );
    expect(() => readFileSync(path.join(outside, 'pwned'))).toThrow();
    // A hard link entry (GNU tar writes the second name of a file so).
    const g = path.join(tmp.path, 'evil-gnu');
    mkdirSync(path.join(g, 'B', 'out'), { recursive: true });
    writeFileSync(path.join(g, 'B', 'out', 'a'), 'pwned');
    linkSync(path.join(g, 'B', 'out', 'a'), path.join(g, 'B', 'out', 'b'));
    const gnu = path.join(tmp.path, 'evil-hardlink.tar');
    execFileSync('tar', [
      '--format=ustar',
      '--no-recursion',
      '-cf',
      gnu,
      '-C',
      g,
      'B/out',
      'B/out/a',
      'B/out/b',
    ]);
    const linkConfig = {
      ...config,
      entries: [
        { path: 'B/out', type: 'dir' as const },
        { path: 'B/out/a', type: 'file' as const, exec: false, size: 5, sha256: sha },
        { path: 'B/out/b', type: 'file' as const, exec: false, size: 5, sha256: sha },
      ],
    };
    await expect(unpackArtifact({ ...io, layerFile: gnu, config: linkConfig })).rejects.toThrow(
      /B\/out\/b: tar entries of type "1" are not allowed/,
    );
    // A truncated layer.
    const bytes = readFileSync(layerFile);
    const cut = path.join(tmp.path, 'evil-cut.tar');
    writeFileSync(cut, bytes.subarray(0, 1024 + 100));
    await expect(unpackArtifact({ ...io, layerFile: cut, config })).rejects.toThrow(
      /the layer is not a valid tar: the layer is truncated/,
    );
    expect(execFileSync('ls', ['-A', io.workDir]).toString()).toBe('');
    expect(() => statSync(path.join(db, 'out'))).toThrow();
  });

  it('a layer the strict tar parser refuses (checksum, compressed, cut, unknown or global headers) is never unpacked', async () => {
    const dest = path.join(tmp.path, 'strict-dest');
    const db = path.join(dest, '_build');
    mkdirSync(db, { recursive: true });
    const io = { root: dest, buildRoot: db, workDir: path.join(db, '.cache-tmp') };
    const src = path.join(tmp.path, 'strict-src');
    writeFileSync(src, 'x'.repeat(1000));
    const sha = execFileSync('sha256sum', [src]).toString().split(' ')[0] ?? '';
    const config = {
      format: 2,
      task: 'gen',
      key: 'k'.repeat(64),
      outputs: ['B/out'],
      entries: [
        { path: 'B/out', type: 'dir' as const },
        { path: 'B/out/f', type: 'file' as const, exec: false, size: 1000, sha256: sha },
      ],
    };
    const chunks: Buffer[] = [];
    for await (const c of tarStream([
      { path: 'B/out', type: 'dir' },
      { path: 'B/out/f', type: 'file', size: 1000, source: src },
    ]))
      chunks.push(c);
    const good = Buffer.concat(chunks);
    /** A header block with a right checksum. */
    const withSum = (block: Buffer): Buffer => {
      const b = Buffer.from(block);
      b.fill(0x20, 148, 156);
      let sum = 0;
      for (const x of b) sum += x;
      b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
      return b;
    };
    const refused = async (bytes: Buffer, name: string, message: RegExp): Promise<void> => {
      const layerFile = path.join(tmp.path, name);
      writeFileSync(layerFile, bytes);
      await expect(unpackArtifact({ ...io, layerFile, config })).rejects.toThrow(message);
      expect(execFileSync('ls', ['-A', io.workDir]).toString()).toBe('');
      expect(() => statSync(path.join(db, 'out'))).toThrow();
    };
    // The good layer restores (the checks below are about the damage, not the layer).
    writeFileSync(path.join(tmp.path, 'strict-good.tar'), good);
    await unpackArtifact({ ...io, layerFile: path.join(tmp.path, 'strict-good.tar'), config });
    expect(readFileSync(path.join(db, 'out', 'f'), 'utf8')).toBe('x'.repeat(1000));
    execFileSync('rm', ['-r', path.join(db, 'out')]);
    // And as it streams, in chunks splitting headers and contents anywhere.
    const pieces = async function* (): AsyncGenerator<Buffer> {
      for (let i = 0; i < good.length; i += 77) {
        await new Promise((r) => setImmediate(r));
        yield good.subarray(i, i + 77);
      }
    };
    const digest = `sha256:${createHash('sha256').update(good).digest('hex')}`;
    await unpackArtifact({ ...io, layer: { body: pieces(), digest, size: good.length }, config });
    expect(readFileSync(path.join(db, 'out', 'f'), 'utf8')).toBe('x'.repeat(1000));
    execFileSync('rm', ['-r', path.join(db, 'out')]);

    const badSum = Buffer.from(good);
    badSum[512 + 90] = 0x41; // in the file's name field, checksum left as is
    await refused(badSum, 'strict-sum.tar', /the layer is not a valid tar: .*checksum/);
    await refused(
      gzipSync(good),
      'strict-gz.tar',
      /the layer is not a valid tar: the layer is compressed/,
    );
    await refused(
      good.subarray(0, good.length - 1024),
      'strict-noend.tar',
      /the layer is not a valid tar: the layer ends without its end blocks/,
    );
    // Cut after the first block of the file's content: a whole number of blocks.
    await refused(
      good.subarray(0, 1536),
      'strict-cut.tar',
      /the layer is not a valid tar: the layer is truncated/,
    );
    // The file's type flag made unknown ('Z'): node-tar would skip the entry.
    const unknown = Buffer.from(good);
    unknown[512 + 156] = 0x5a;
    withSum(unknown.subarray(512, 1024)).copy(unknown, 512);
    await refused(
      unknown,
      'strict-type.tar',
      /B\/out\/f: tar entries of an unknown type are not allowed/,
    );
    // A global PAX header first (it would apply to every entry after it).
    const record = '16 comment=abcd\n';
    const g = Buffer.alloc(512);
    g.write('GlobalHead', 0, 'ascii');
    g.write('0000644\0', 100, 'ascii');
    g.write(record.length.toString(8).padStart(11, '0') + '\0', 124, 'ascii');
    g.write('g', 156, 'ascii');
    g.write('ustar\0' + '00', 257, 'ascii');
    const data = Buffer.alloc(512);
    data.write(record, 'utf8');
    await refused(
      Buffer.concat([withSum(g), data, good]),
      'strict-global.tar',
      /the layer is not a valid tar: global PAX headers are not allowed/,
    );
  });

  it("a restored file's checked sha256 gives the hasher the hash it would compute", async () => {
    const f = path.join(tmp.path, 'primed.bin');
    writeFileSync(f, 'some restored bytes\n'.repeat(1000));
    const sha = execFileSync('sha256sum', [f]).toString().split(' ')[0] ?? '';
    const primed = new FileHasher(new Map());
    primeHasher(primed, { path: f, sha256: sha, trusted: false });
    expect(primed.cache.get(f)?.[3]).toBe(await new FileHasher(new Map()).hash(f));
  });
});

describe('settings and the cache command line', () => {
  it('BUILD_CACHE and BUILD_CACHE_MODE', () => {
    expect(parseBuildCache('', '', [])).toBeUndefined();
    expect(parseBuildCache('oci://harbor.example.com:8443/metalk8s/build-cache', '', [])).toEqual({
      host: 'harbor.example.com:8443',
      repository: 'metalk8s/build-cache',
      mode: 'read',
      insecure: false,
    });
    expect(
      parseBuildCache('oci://127.0.0.1:5000/ci', 'readwrite', ['127.0.0.1:5000']),
    ).toMatchObject({
      mode: 'readwrite',
      insecure: true,
    });
    const bad = (cache: string, mode = ''): string => {
      try {
        parseSettings({ BUILD_CACHE: cache, BUILD_CACHE_MODE: mode });
      } catch (err) {
        return (err as Error).message;
      }
      return 'accepted';
    };
    expect(bad('harbor.example.com/x')).toMatch(
      /^BUILD_CACHE=harbor\.example\.com\/x is not oci:\/\/HOST\[:PORT\]\/REPO: it must start with oci:\/\//,
    );
    expect(bad('oci://harbor.example.com')).toMatch(/a repository path is needed after the host/);
    expect(bad('oci://harbor.example.com/Upper')).toMatch(/'Upper' is not a repository path/);
    expect(bad('oci://bad_host/x')).toMatch(/'bad_host' is not a registry host/);
    expect(bad('', 'rw')).toMatch(/^BUILD_CACHE_MODE=rw is not read or readwrite/);
  });

  it('cache status|prune arguments', () => {
    expect(parseAge('30m')).toBe(1_800_000);
    expect(parseAge('7d')).toBe(604_800_000);
    expect(parseAge('2w')).toBe(1_209_600_000);
    expect(parseAge('0d')).toBeUndefined();
    expect(parseAge('7 days')).toBeUndefined();
    expect(parseCacheArgs(['prune', '--older-than=12h', '--dry-run'])).toEqual({
      sub: 'prune',
      olderThanMs: 43_200_000,
      dryRun: true,
    });
    expect(() => parseCacheArgs([])).toThrow(/cache needs a subcommand/);
    expect(() => parseCacheArgs(['purge'])).toThrow(/unknown cache subcommand purge/);
    expect(() => parseCacheArgs(['status', '--older-than', '1d'])).toThrow(
      /unknown argument for cache status/,
    );
    expect(cacheCommandArgs(['--reporter', 'json', 'cache', 'status'])).toEqual(['status']);
    expect(cacheCommandArgs(['cache', 'prune', '--older-than', '1d'])).toEqual([
      'prune',
      '--older-than',
      '1d',
    ]);
    expect(cacheCommandArgs(['-n', '2', 'iso'])).toBeUndefined();
    expect(cacheCommandArgs(['iso', 'cache'])).toBeUndefined();
  });
});

describe('reporting restored tasks', () => {
  it('console and live view mark a restored task; the summary and cache line count it', async () => {
    const { formatEvent, formatSummary } =
      await import('../../buildchain/engine/reporters/console.ts');
    const { LiveModel } = await import('../../buildchain/engine/reporters/live-rows.ts');
    const cached = {
      event: 'cached',
      task: 'packaging:rpm:x',
      key: 'k',
      bytes: 10,
      durationMs: 5,
    } as const;
    expect(formatEvent(cached, {})).toBe('<< packaging:rpm:x (restored from cache)');
    expect(formatEvent(cached, { quiet: true })).toBeUndefined();
    const counts = {
      done: 1,
      upToDate: 2,
      failed: 0,
      blocked: 0,
      wouldRun: 0,
      notRun: 0,
      cached: 3,
    };
    expect(
      formatSummary({
        event: 'summary',
        exitCode: 0,
        counts,
        failures: [],
        interrupted: false,
        durationMs: 1000,
      }),
    ).toBe('build ok: 1 run, 2 up to date, 3 restored from cache in 1.0s');
    const model = new LiveModel();
    model.apply({ event: 'build-start', command: 'run', tasks: 1, workers: 1, dryRun: false });
    expect(model.apply(cached)).toBe('<< packaging:rpm:x (restored from cache)');
    expect(model.finished).toBe(1);
    const stats = {
      event: 'cache-stats',
      url: 'oci://h/r',
      mode: 'read',
      tasksRestored: 3,
      tasksSaved: 0,
      tasksMissed: 1,
      taskBytesDown: 0,
      taskBytesUp: 0,
      blobsFromCache: 2,
      blobBytesFromCache: 2_000_000,
      blobsFromUpstream: 0,
      blobBytesFromUpstream: 0,
      blobsUploaded: 0,
      blobsMounted: 0,
      blobBytesMounted: 0,
      blobBytesUp: 0,
      warnings: 0,
    } as const;
    expect(model.apply(stats)).toBe(
      'cache oci://h/r (read): 3 restored, 0 saved, 1 missed; blobs 2 from cache (2.0 MB), 0 from upstream (0.0 MB), 0 uploaded (0.0 MB), 0 mounted (0.0 MB)',
    );
  });
});
