/**
 * The restore's records in the file hasher follow its racy rule (fingerprint.ts): trust is
 * judged with a clock read *before* the check the recorded sha256 comes from, never with one
 * read when the record is made. A fake `Date.now` stands for a restore that takes long: read
 * later, the clock would trust a file changed after the restore checked it. For linked files,
 * every read of file content moves the fake clock (node:fs's reads wrapped, then its ESM named
 * exports synced, as in test/engine/racy-clock.test.ts): a source changed just before its check
 * and read for longer than the margin.
 */
import fs, { linkSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { packArtifact, unpackArtifact } from '../../buildchain/engine/cache/artifact.ts';
import { primeHasher } from '../../buildchain/engine/cache/task-cache.ts';
import { FileHasher, RACY_MS, type FileRecord } from '../../buildchain/engine/fingerprint.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const realReadSync = fs.readSync;
const realRead = fs.read;
/** Added to the fake clock's start. */
let offset = 0;

/**
 * A fake clock, frozen at the real time of the call but for {@link offset}: files written after
 * it are never past the margin by it, however slow the machine, until the offset moves it.
 */
function fakeClock(): void {
  offset = 0;
  const start = Date.now();
  vi.spyOn(Date, 'now').mockImplementation(() => start + offset);
}

/** Every read of file content moves the fake clock 100 margins ahead (a slow read). */
function slowReads(): void {
  fs.readSync = ((...a: Parameters<typeof fs.readSync>) => {
    offset += 100 * RACY_MS;
    return realReadSync(...a);
  }) as typeof fs.readSync;
  fs.read = ((...a: unknown[]) => {
    offset += 100 * RACY_MS;
    (realRead as (...b: unknown[]) => void)(...a);
  }) as typeof fs.read;
  syncBuiltinESMExports();
}

/** The hasher's hash of a file, computed afresh. */
const freshHash = (f: string): Promise<string | undefined> => new FileHasher(new Map()).hash(f);

/** A packed entry of `<src>/_build/out/` (files: name → content), `dl/` linked when given. */
async function packOut(
  src: string,
  files: Readonly<Record<string, string>>,
  linked: Readonly<Record<string, string>> = {},
): Promise<Awaited<ReturnType<typeof packArtifact>>> {
  const b = path.join(src, '_build');
  mkdirSync(path.join(b, 'out'), { recursive: true });
  mkdirSync(path.join(b, 'dl'), { recursive: true });
  for (const [name, content] of Object.entries(files))
    writeFileSync(path.join(b, 'out', name), content);
  for (const [name, content] of Object.entries(linked)) {
    writeFileSync(path.join(b, 'dl', name), content);
    linkSync(path.join(b, 'dl', name), path.join(b, 'out', name));
  }
  return packArtifact({
    task: 'out',
    key: 'k'.repeat(64),
    format: 2,
    outputs: [path.join(b, 'out')],
    linkFrom: [path.join(b, 'dl')],
    root: src,
    buildRoot: b,
    workDir: path.join(b, '.buildchain', 'cache-tmp'),
  });
}

/** Where unpackArtifact restores into: the clone above BUILD_ROOT `db`, and its cache work dir. */
function restoreDirs(db: string): { root: string; buildRoot: string; workDir: string } {
  return {
    root: path.dirname(db),
    buildRoot: db,
    workDir: path.join(db, '.buildchain', 'cache-tmp'),
  };
}

/** A hasher told of the restored files as a restore tells the build's (primeHasher). */
function primed(placed: Awaited<ReturnType<typeof unpackArtifact>>): FileHasher {
  const hasher = new FileHasher(new Map<string, FileRecord>());
  for (const p of placed) primeHasher(hasher, p);
  return hasher;
}

/**
 * `files` packed under `<dir>/src`, then restored from the layer file into `<dir>/dest/_build`
 * with the fake clock on.
 */
async function restoreOut(
  dir: string,
  files: Readonly<Record<string, string>>,
): Promise<{ db: string; placed: Awaited<ReturnType<typeof unpackArtifact>> }> {
  const packed = await packOut(path.join(dir, 'src'), files);
  const db = path.join(dir, 'dest', '_build');
  fakeClock();
  const placed = await unpackArtifact({
    layerFile: packed.layerFile,
    config: packed.config,
    ...restoreDirs(db),
  });
  return { db, placed };
}

describe('restored files in the hasher: trust judged with a clock read before the check', () => {
  let tmp: TempDir;
  beforeEach(async () => {
    tmp = await makeTempDir('mk8s-racy-restore-');
  });
  afterEach(async () => {
    fs.readSync = realReadSync;
    fs.read = realRead;
    syncBuiltinESMExports();
    vi.restoreAllMocks();
    await tmp.cleanup();
  });

  it('an extracted file changed after its check, primed after a long restore: its checked hash never trusted, read again', async () => {
    const { db, placed } = await restoreOut(tmp.path, { 'a.txt': 'restored\n' });
    const f = path.join(db, 'out', 'a.txt');
    expect(placed.map((p) => p.path)).toEqual([f]);
    // Changed after the check (same size), then the restore goes on for 10 s before priming.
    writeFileSync(f, 'CHANGED!\n');
    offset = 10_000;
    const hasher = primed(placed);
    // Never a trusted record of the checked (stale) hash: the next lookup reads the file ...
    expect(hasher.cache.get(f)?.[4] ?? 0).toBe(0);
    expect(await new FileHasher(hasher.cache).hash(f)).toBe(await freshHash(f));
    // ... and so does the end of the build: the record holds the content there now.
    await hasher.settle();
    expect(hasher.cache.get(f)?.[3]).toBe(await freshHash(f));
    expect(readFileSync(f, 'utf8')).toBe('CHANGED!\n');
  });

  it('an extracted file unchanged: racy when primed, trusted with its right hash after settle', async () => {
    const { db, placed } = await restoreOut(tmp.path, { 'b.txt': 'same\n' });
    offset = 10_000;
    const hasher = primed(placed);
    const f = path.join(db, 'out', 'b.txt');
    expect(hasher.cache.get(f)?.[4]).toBe(0);
    expect(hasher.cache.get(f)?.[3]).toBe(await freshHash(f));
    await hasher.settle();
    expect(hasher.cache.get(f)?.[4]).toBe(1);
    expect(hasher.cache.get(f)?.[3]).toBe(await freshHash(f));
  });

  it('a file written longer than the margin before the outputs became visible: trusted', async () => {
    const packed = await packOut(path.join(tmp.path, 'src'), { 'd.rpm': 'd'.repeat(20_000) });
    const layer = readFileSync(packed.layerFile);
    const db = path.join(tmp.path, 'dest', '_build');
    fakeClock();
    // The layer's last bytes come 10 s after its files were written (a slow download's end).
    const slowEnd = (async function* () {
      yield layer;
      offset = await Promise.resolve(10_000);
    })();
    const placed = await unpackArtifact({
      layer: { body: slowEnd, digest: packed.layerDigest, size: packed.layerSize },
      config: packed.config,
      ...restoreDirs(db),
    });
    const f = path.join(db, 'out', 'd.rpm');
    const hasher = primed(placed);
    const st = statSync(f);
    expect(hasher.cache.get(f)).toEqual([
      st.mtimeMs,
      st.size,
      st.ino,
      await freshHash(f),
      1,
      st.ctimeMs,
    ]);
  });

  it('a link source changed just before its check, read for longer than the margin: both names racy', async () => {
    const packed = await packOut(
      path.join(tmp.path, 'src'),
      { 'repomd.xml': '<repomd/>' },
      { 'c.rpm': 'c'.repeat(50_000) },
    );
    const layer = readFileSync(packed.layerFile);
    const db = path.join(tmp.path, 'dest', '_build');
    mkdirSync(path.join(db, 'dl'), { recursive: true });
    const source = path.join(db, 'dl', 'c.rpm');
    writeFileSync(source, 'c'.repeat(50_000)); // changed now: the check's stat is within the tick
    fakeClock();
    slowReads();
    const placed = await unpackArtifact({
      layer: { body: Readable.from([layer]), digest: packed.layerDigest, size: packed.layerSize },
      config: packed.config,
      ...restoreDirs(db),
    });
    const link = path.join(db, 'out', 'c.rpm');
    expect(statSync(link).ino).toBe(statSync(source).ino);
    // The read outlasted the margin: a clock read now would trust the source's times.
    expect(Date.now()).toBeGreaterThan(statSync(source).ctimeMs + RACY_MS);
    const hasher = primed(placed);
    for (const f of [source, link]) {
      expect(hasher.cache.get(f)?.[4]).toBe(0);
      expect(hasher.cache.get(f)?.[3]).toBe(await freshHash(f));
    }
  });
});
