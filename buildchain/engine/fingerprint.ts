/**
 * Content hashes of files and directory trees, with a stat shortcut: a file whose mtime, ctime,
 * size and inode match the cached record reuses its hash (no read). ctime cannot be set by
 * hand, so an edit that keeps the size and restores the mtime is still seen. A record taken
 * less than {@link RACY_MS} after the file's last change is "racy" (a same-size rewrite in the
 * same clock tick would keep both times), so it is not trusted until re-hashed later (as git
 * does).
 */
import { createHash, hash as oneShotHash } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  lstatSync,
  openSync,
  readSync,
  readFileSync,
  readlinkSync,
  statSync,
} from 'node:fs';
import type { Stats } from 'node:fs';
import path from 'node:path';
import { RACY_MS } from '../lib/fs/racy.ts';
import { listDirSync } from '../lib/fs/walk.ts';
import { FileTable, type FileRecord } from './file-table.ts';
import type { MapLike } from './record-map.ts';

export type { FileRecord } from './file-table.ts';

/**
 * Import lists of code modules (see code-fingerprint.ts), keyed by module file:
 * `[content hash, imported project modules]`, valid while the content hash is.
 */
export type ModuleRecord = [string, string[]];

/** statSync's options: a missing file is `undefined`, not an exception. */
const STAT_OPTIONS = { throwIfNoEntry: false } as const;

/** Files younger than this (ms) when hashed are re-hashed on next use (lib/fs/racy.ts). */
export { RACY_MS };
const SMALL_FILE = 8 * 1024 * 1024;

/** Characters kept of a base64url sha256 (22 = 132 bits: plenty to detect changes, and a smaller state). */
const HASH_CHARS = 22;

/** sha256 of a string, base64url, shortened to 22 characters. */
export function hashString(s: string): string {
  return oneShotHash('sha256', s, 'base64url').slice(0, HASH_CHARS);
}

function isSameStat(rec: FileRecord | undefined, st: Stats): rec is FileRecord {
  return (
    rec !== undefined &&
    rec[0] === st.mtimeMs &&
    rec[1] === st.size &&
    rec[2] === st.ino &&
    rec[5] === st.ctimeMs
  );
}

/** The content hash of bytes: what {@link FileHasher.hash} gives for a file holding them. */
export function hashBytes(data: Buffer): string {
  return oneShotHash('sha256', data, 'base64url').slice(0, HASH_CHARS);
}

/** Reused by {@link hashSmallSync}: hashing 10 000 small files allocates no buffer per file. */
let scratch = Buffer.allocUnsafe(64 * 1024);

/**
 * The content hash of a file of at most {@link SMALL_FILE} bytes (by its stat), read
 * synchronously into a reused buffer (open, read, close: no fstat, no allocation; one read
 * when the file has the size its stat gave).
 */
function hashSmallSync(file: string, size: number): string {
  if (scratch.length <= size) scratch = Buffer.allocUnsafe(Math.min(SMALL_FILE + 1, size * 2 + 1));
  const fd = openSync(file, 'r');
  try {
    let n = 0;
    while (n < scratch.length) {
      const got = readSync(fd, scratch, n, scratch.length - n, null);
      if (got === 0) return hashBytes(scratch.subarray(0, n));
      n += got;
      // The size of the stat, read without filling the buffer: the end of the file, no read to
      // see it (a file written to after its stat has a newer stat: its record never matches).
      if (n === size) return hashBytes(scratch.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  // The file grew since its stat: hash what it holds now.
  return hashBytes(readFileSync(file));
}

async function hashContent(file: string, size: number): Promise<string> {
  if (size <= SMALL_FILE) return hashSmallSync(file, size);
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('base64url').slice(0, HASH_CHARS);
}

/** A file of a tree whose content must be read (see FileHasher.scanTree). */
interface PendingFile {
  readonly index: number;
  readonly abs: string;
  readonly st: Stats;
  /** The clock read before `st` was taken (the walk's start): see FileHasher.remember. */
  readonly clock: number;
  readonly prefix: string;
}

/** A directory's walk: the lines of its hash, some waiting for their file's content hash. */
interface TreeScan {
  readonly lines: string[];
  readonly pending: readonly PendingFile[];
}

/** What {@link FileHasher.peek} found of a path whose content must be read. */
interface Unread {
  readonly st: Stats;
  /** The clock read before `st` was taken: see FileHasher.remember. */
  readonly clock: number;
  /** For a directory: its walk. */
  readonly scan?: TreeScan;
}

/** The hash of a directory tree from the lines of its walk (see FileHasher.scanTree). */
function treeHash(lines: readonly string[]): string {
  return `d:${hashString(lines.join('\n'))}`;
}

/** Returned by {@link FileHasher.peek} when the content must be read. */
export const NEEDS_HASHING = Symbol('needs-hashing');

/** Hashes files and trees through a stat cache shared with the state store. */
export class FileHasher {
  /** Absolute path → record; persisted by the state store. */
  readonly cache: MapLike<FileRecord>;
  /** Module file → its import list; persisted by the state store (code-fingerprint.ts). */
  readonly modules: MapLike<ModuleRecord>;
  /**
   * Changes to the persisted caches since creation (files hashed, module import lists parsed):
   * the state needs saving when > 0.
   */
  misses = 0;
  /**
   * Hashes already looked up in this run (a file read by many tasks is stat'ed once). Entries
   * are dropped when a task producing them is about to run ({@link invalidate}); null: missing.
   */
  private readonly memo = new Map<string, string | null>();

  /** {@link cache} when it is the state's {@link FileTable}. */
  private readonly table: FileTable | undefined;

  constructor(cache: MapLike<FileRecord>, modules: MapLike<ModuleRecord> = new Map()) {
    this.cache = cache;
    this.table = cache instanceof FileTable ? cache : undefined;
    this.modules = modules;
  }

  /**
   * The hash when it is known without reading the file (this run's lookups, or the stat
   * cache; for a directory, a walk whose every file is known so), `undefined` for a missing
   * path, or {@link NEEDS_HASHING}. Synchronous: the no-op path of a large build (directory
   * targets included) avoids a promise per file.
   */
  peek(file: string): string | undefined | typeof NEEDS_HASHING {
    const seen = this.memo.get(file);
    if (seen !== undefined) return seen ?? undefined;
    if (this.unread.size > 0 && this.unread.has(file)) return NEEDS_HASHING;
    // Read before the stat: what a record's trust is decided with (see remember).
    const clock = Date.now();
    const st = statSync(file, STAT_OPTIONS);
    if (st === undefined) {
      this.memo.set(file, null);
      return undefined;
    }
    let scan: TreeScan | undefined;
    let known: string | undefined;
    if (st.isDirectory()) {
      scan = this.scanTree(file);
      if (scan.pending.length === 0) known = treeHash(scan.lines);
    } else if (st.isFile()) known = this.trustedHash(file, st);
    if (known !== undefined) {
      this.memo.set(file, known);
      return known;
    }
    this.unread.set(file, scan === undefined ? { st, clock } : { st, clock, scan });
    return NEEDS_HASHING;
  }

  /**
   * What {@link peek} calls that returned NEEDS_HASHING found (the stat, and a directory's walk),
   * until the content is hashed: a task evaluated twice, first on the synchronous path, stats its
   * files and walks its trees once. A stat older than the read only makes the record
   * conservative (see {@link remember}).
   */
  private readonly unread = new Map<string, Unread>();

  /**
   * Hash of a file's content, or of a directory tree (`d:` prefix), or undefined when the path
   * does not exist. Symlinks are followed for files; inside trees they hash as their target text.
   */
  async hash(file: string): Promise<string | undefined> {
    const now = this.hashSync(file);
    if (now !== NEEDS_HASHING) return now;
    const u = this.lookup(file);
    if (typeof u !== 'object') return u;
    if (u.scan === undefined) return this.found(file, await this.hashStat(file, u.st, u.clock));
    const { lines, pending } = u.scan;
    for (const p of pending)
      lines[p.index] = p.prefix + (await this.hashStat(p.abs, p.st, p.clock));
    return this.found(file, treeHash(lines));
  }

  /**
   * {@link hash} without a promise when no file to read is larger than {@link SMALL_FILE}
   * (read synchronously: a few microseconds each); NEEDS_HASHING when one is (then call
   * {@link hash}, which streams it).
   */
  hashSync(file: string): string | undefined | typeof NEEDS_HASHING {
    const u = this.lookup(file);
    if (typeof u !== 'object') return u;
    if (u.scan === undefined)
      return u.st.size > SMALL_FILE
        ? NEEDS_HASHING
        : this.found(file, this.hashSmallStat(file, u.st, u.clock));
    const { lines, pending } = u.scan;
    if (pending.some((p) => p.st.size > SMALL_FILE)) return NEEDS_HASHING;
    for (const p of pending) lines[p.index] = p.prefix + this.hashSmallStat(p.abs, p.st, p.clock);
    return this.found(file, treeHash(lines));
  }

  /** {@link peek}, with what it found of a path whose content must be read. */
  private lookup(file: string): string | undefined | Unread {
    const known = this.peek(file);
    return known === NEEDS_HASHING ? this.unread.get(file) : known;
  }

  /** Records the hash of a path whose content was just read (for this run). */
  private found(file: string, hash: string): string {
    this.unread.delete(file);
    this.memo.set(file, hash);
    return hash;
  }

  /** The recorded hash of a file when its stat is unchanged and the record is trusted. */
  private trustedHash(file: string, st: Stats): string | undefined {
    // The state's table answers without building the record (file-table.ts).
    if (this.table !== undefined) return this.table.trustedHash(file, st);
    const rec = this.cache.get(file);
    return isSameStat(rec, st) && rec[4] === 1 ? rec[3] : undefined;
  }

  /** {@link hashStat} for a file of at most {@link SMALL_FILE} bytes, without a promise. */
  private hashSmallStat(file: string, st: Stats, clock: number): string {
    return (
      this.trustedHash(file, st) ?? this.remember(file, hashSmallSync(file, st.size), st, clock)
    );
  }

  private async hashStat(file: string, st: Stats, clock: number): Promise<string> {
    return (
      this.trustedHash(file, st) ?? this.remember(file, await hashContent(file, st.size), st, clock)
    );
  }

  /**
   * Caches a hash just computed with the stat taken *before* reading: a change during or after
   * the read gives a newer mtime (or size or inode), unless it falls in the same timestamp tick
   * as the stat's times. So the record is trusted only when those times were already older than
   * the margin at a clock reading taken before the stat (`clock`): every change after the stat
   * then gets newer times. A clock read after the read would not do: a file changed just before
   * its stat and read for longer than the margin would be trusted, though an edit during the read,
   * within the tick of its last change, leaves its stat as recorded.
   */
  private remember(file: string, hash: string, before: Stats, clock: number): string {
    this.misses++;
    const trusted = Math.max(before.mtimeMs, before.ctimeMs) < clock - RACY_MS ? 1 : 0;
    this.cache.set(file, [before.mtimeMs, before.size, before.ino, hash, trusted, before.ctimeMs]);
    return hash;
  }

  /** Records the import list of a module just parsed (see code-fingerprint.ts). */
  rememberModule(file: string, record: ModuleRecord): void {
    this.misses++;
    this.modules.set(file, record);
  }

  /** Forgets what is known of a path (before a task rewrites it). */
  invalidate(file: string): void {
    this.unread.delete(file);
    this.cache.delete(file);
    this.memo.delete(file);
  }

  /** Forgets this run's lookups under a directory target (costs a scan of the lookups). */
  forgetUnder(dir: string): void {
    const prefix = dir.endsWith(path.sep) ? dir : dir + path.sep;
    for (const k of this.memo.keys()) if (k.startsWith(prefix)) this.memo.delete(k);
    for (const k of this.unread.keys()) if (k.startsWith(prefix)) this.unread.delete(k);
  }

  /**
   * The lines of a directory tree's hash (sorted relative paths, types, exec bits and content
   * hashes), one walk; files whose hash is not known from the stat cache are left `pending`.
   */
  private scanTree(dir: string): TreeScan {
    const lines: string[] = [];
    const pending: PendingFile[] = [];
    // Read before any stat of the walk: each pending file's record is judged with it (remember).
    const clock = Date.now();
    const walk = (rel: string): void => {
      // Sorted by name; read once per run while the directory is unchanged (lib/fs/walk.ts).
      for (const e of listDirSync(path.join(dir, rel))) {
        const relPath = rel === '' ? e.name : `${rel}/${e.name}`;
        const abs = path.join(dir, relPath);
        if (e.isSymbolicLink()) lines.push(`l ${relPath} ${readlinkSync(abs)}`);
        else if (e.isDirectory()) {
          lines.push(`d ${relPath}`);
          walk(relPath);
        } else if (e.isFile()) {
          const st = lstatSync(abs);
          const prefix = `f${(st.mode & 0o111) !== 0 ? 'x' : '-'} ${relPath} `;
          const known = this.trustedHash(abs, st);
          if (known !== undefined) lines.push(prefix + known);
          else {
            pending.push({ index: lines.length, abs, st, clock, prefix });
            lines.push('');
          }
        } else lines.push(`o ${relPath}`);
      }
    };
    walk('');
    return { lines, pending };
  }

  /**
   * Re-hashes racy records (called before the cache is saved), so that the next no-op run
   * trusts every record and reads no file: files changed less than {@link RACY_MS} ago are
   * waited for (at most that long) rather than left racy. Those already past the margin are
   * read first, while the youngest age (the wait mostly costs nothing).
   */
  async settle(): Promise<void> {
    // The stat each racy record was taken with is the "before" (one stat per file, after the wait).
    const now = Date.now();
    const old: [string, FileRecord][] = [];
    const young: [string, FileRecord][] = [];
    let youngest = 0;
    for (const [file, rec] of this.cache) {
      if (rec[4] === 1) continue;
      const changed = Math.max(rec[0], rec[5] ?? 0);
      if (changed < now - RACY_MS) old.push([file, rec]);
      else {
        young.push([file, rec]);
        youngest = Math.max(youngest, changed);
      }
    }
    await this.rehash(old);
    // A timer may fire early by the wall clock (it counts from the loop's cached time): wait again
    // until the clock is past the margin, else the records would stay racy.
    for (
      let wait = youngest + RACY_MS + 1 - Date.now();
      wait > 0 && wait <= RACY_MS + 1;
      wait = youngest + RACY_MS + 1 - Date.now()
    )
      await new Promise((r) => setTimeout(r, wait));
    await this.rehash(young);
  }

  /** Hashes racy records again, each with a stat taken before the read (and a clock before it). */
  private async rehash(racy: readonly [string, FileRecord][]): Promise<void> {
    for (const [file, rec] of racy) {
      const clock = Date.now();
      const st = statSync(file, STAT_OPTIONS);
      if (st === undefined || !st.isFile()) {
        this.cache.delete(file);
        continue;
      }
      // Changed since it was hashed: leave it racy, the next run hashes it again.
      if (!isSameStat(rec, st)) continue;
      this.remember(
        file,
        st.size > SMALL_FILE ? await hashContent(file, st.size) : hashSmallSync(file, st.size),
        st,
        clock,
      );
    }
  }
}
