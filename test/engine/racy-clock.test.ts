/**
 * The file hasher's racy rule judged with the clock read *before* a file's stat: a file changed
 * just before its stat and read for longer than the margin must get a racy (untrusted) record,
 * since an edit during the read, within the timestamp tick of its last change, leaves its stat
 * as recorded. A slow read is simulated on a real file: every read of file content moves a
 * fake `Date.now` forward by far more than the margin (node:fs's reads wrapped, then its ESM
 * named exports synced, so the hasher's own imports see the wrappers).
 */
import fs, { mkdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FileHasher, RACY_MS, type FileRecord } from '../../buildchain/engine/fingerprint.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

/** How far each read of content moves the fake clock: a read far longer than the margin. */
const READ_TAKES_MS = 100 * RACY_MS;

/** The fake clock's reading, moved by every read of content while {@link slowReads} is on. */
let clock = 0;
const realReadSync = fs.readSync;
const realRead = fs.read;

/** Every read takes {@link READ_TAKES_MS} by the (fake) clock, starting at `start`. */
function slowReads(start: number): void {
  clock = start;
  vi.spyOn(Date, 'now').mockImplementation(() => clock);
  fs.readSync = ((...a: Parameters<typeof fs.readSync>) => {
    clock += READ_TAKES_MS;
    return realReadSync(...a);
  }) as typeof fs.readSync;
  fs.read = ((...a: unknown[]) => {
    clock += READ_TAKES_MS;
    (realRead as (...b: unknown[]) => void)(...a);
  }) as typeof fs.read;
  syncBuiltinESMExports();
}

function realReads(): void {
  fs.readSync = realReadSync;
  fs.read = realRead;
  syncBuiltinESMExports();
  vi.restoreAllMocks();
}

/** The time of a file's last change (what the racy rule compares with the clock). */
const changedAt = (file: string): number => {
  const st = statSync(file);
  return Math.max(st.mtimeMs, st.ctimeMs);
};

describe('FileHasher racy clock (read before the stat)', () => {
  let tmp: TempDir;
  beforeEach(async () => {
    tmp = await makeTempDir('mk8s-racy-clock-');
  });
  afterEach(async () => {
    realReads();
    await tmp.cleanup();
  });

  it('the fake slow read is seen by the hasher (else the cases below prove nothing)', () => {
    const f = path.join(tmp.path, 'probe');
    writeFileSync(f, 'x');
    slowReads(1000);
    new FileHasher(new Map()).hashSync(f);
    expect(clock).toBeGreaterThan(1000);
  });

  it('a small file changed just before its stat, read for longer than the margin: racy', () => {
    const f = path.join(tmp.path, 'small');
    writeFileSync(f, 'content');
    const cache = new Map<string, FileRecord>();
    slowReads(changedAt(f)); // the clock at the stat: the instant of the last change
    const hasher = new FileHasher(cache);
    expect(typeof hasher.hashSync(f)).toBe('string');
    expect(clock).toBeGreaterThan(changedAt(f) + RACY_MS); // the read outlasted the margin
    expect(cache.get(f)?.[4]).toBe(0);
  });

  it('a large (streamed) file changed just before its stat, read for long: racy', async () => {
    const f = path.join(tmp.path, 'large');
    writeFileSync(f, Buffer.alloc(8 * 1024 * 1024 + 1, 7));
    const cache = new Map<string, FileRecord>();
    slowReads(changedAt(f));
    await new FileHasher(cache).hash(f);
    expect(clock).toBeGreaterThan(changedAt(f) + RACY_MS);
    expect(cache.get(f)?.[4]).toBe(0);
  });

  it("a directory target's file changed just before the walk, read for long: racy", () => {
    const dir = path.join(tmp.path, 'tree');
    mkdirSync(dir);
    const f = path.join(dir, 'a');
    writeFileSync(f, 'a');
    const cache = new Map<string, FileRecord>();
    slowReads(changedAt(f));
    expect(new FileHasher(cache).hashSync(dir)).toMatch(/^d:/);
    expect(cache.get(f)?.[4]).toBe(0);
  });

  it('settle: a racy record re-read for long, its change still within the margin: stays racy', async () => {
    const f = path.join(tmp.path, 'future');
    writeFileSync(f, 'v1');
    // Changed "in the future" (clock skew): settle does not wait that out; the re-read must not
    // trust it either.
    const future = (Date.now() + 1000) / 1000;
    utimesSync(f, future, future);
    const st = statSync(f);
    const cache = new Map<string, FileRecord>([
      [f, [st.mtimeMs, st.size, st.ino, 'stale', 0, st.ctimeMs]],
    ]);
    const hasher = new FileHasher(cache);
    slowReads(Date.now());
    await hasher.settle();
    expect(clock).toBeGreaterThan(changedAt(f) + RACY_MS);
    expect(cache.get(f)?.[3]).not.toBe('stale'); // read again
    expect(cache.get(f)?.[4]).toBe(0);
  });

  it('a file changed before the margin at its stat is still trusted (no needless re-read)', () => {
    const f = path.join(tmp.path, 'old');
    writeFileSync(f, 'old');
    const cache = new Map<string, FileRecord>();
    slowReads(changedAt(f) + RACY_MS + 1);
    new FileHasher(cache).hashSync(f);
    expect(cache.get(f)?.[4]).toBe(1);
  });
});
