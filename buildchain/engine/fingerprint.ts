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
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
} from 'node:fs';
import type { Stats } from 'node:fs';
import path from 'node:path';
import type { MapLike } from './record-map.ts';

/**
 * `[mtimeMs, size, ino, hash, trusted (1) or racy (0), ctimeMs]`. The times are stat's
 * millisecond values with their fraction (sub-microsecond on Linux). A record of an older
 * state without ctime never matches: the file is hashed once more, its tasks stay up to date.
 */
export type FileRecord = [number, number, number, string, 0 | 1, number?];

/**
 * Import lists of code modules (see code-fingerprint.ts), keyed by module file:
 * `[content hash, imported project modules]`, valid while the content hash is.
 */
export type ModuleRecord = [string, string[]];

/** Files younger than this (ms) when hashed are re-hashed on next use. */
export const RACY_MS = 30;
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
 * synchronously into a reused buffer (open, read, close: no fstat, no allocation).
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
  readonly prefix: string;
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
   * are dropped when a task producing them is about to run ({@link invalidate}).
   */
  private readonly memo = new Map<string, string | undefined>();

  constructor(cache: MapLike<FileRecord>, modules: MapLike<ModuleRecord> = new Map()) {
    this.cache = cache;
    this.modules = modules;
  }

  /**
   * The hash when it is known without reading the file (this run's lookups, or the stat
   * cache; for a directory, a walk whose every file is known so), `undefined` for a missing
   * path, or {@link NEEDS_HASHING}. Synchronous: the no-op path of a large build (directory
   * targets included) avoids a promise per file.
   */
  peek(file: string): string | undefined | typeof NEEDS_HASHING {
    if (this.memo.has(file)) return this.memo.get(file);
    if (this.unread.has(file)) return NEEDS_HASHING;
    const st = statSync(file, { throwIfNoEntry: false });
    if (st === undefined) {
      this.memo.set(file, undefined);
      return undefined;
    }
    const rec = this.cache.get(file);
    const known = st.isDirectory()
      ? this.peekTree(file)
      : st.isFile() && isSameStat(rec, st) && rec[4] === 1
        ? rec[3]
        : undefined;
    if (known !== undefined) {
      this.memo.set(file, known);
      return known;
    }
    this.unread.set(file, st);
    return NEEDS_HASHING;
  }

  /**
   * The stats taken by {@link peek} calls that returned NEEDS_HASHING, until {@link hash} reads
   * the file (a task evaluated twice, first on the synchronous path, stats its files once).
   * A stat older than the read only makes the record conservative (see {@link remember}).
   */
  private readonly unread = new Map<string, Stats>();

  /**
   * Hash of a file's content, or of a directory tree (`d:` prefix), or undefined when the path
   * does not exist. Symlinks are followed for files; inside trees they hash as their target text.
   */
  async hash(file: string): Promise<string | undefined> {
    const now = this.hashSync(file);
    if (now !== NEEDS_HASHING) return now;
    const st = this.unread.get(file) ?? statSync(file, { throwIfNoEntry: false });
    this.unread.delete(file);
    const h =
      st === undefined
        ? undefined
        : st.isDirectory()
          ? await this.hashTree(file)
          : await this.hashStat(file, st);
    this.memo.set(file, h);
    return h;
  }

  /**
   * {@link hash} without a promise when no file to read is larger than {@link SMALL_FILE}
   * (read synchronously: a few microseconds each); NEEDS_HASHING when one is (then call
   * {@link hash}, which streams it).
   */
  hashSync(file: string): string | undefined | typeof NEEDS_HASHING {
    const known = this.peek(file);
    if (known !== NEEDS_HASHING) return known;
    const st = this.unread.get(file);
    if (st === undefined || st.size > SMALL_FILE) return NEEDS_HASHING;
    let h: string;
    if (st.isDirectory()) {
      const { lines, pending } = this.scanTree(file);
      if (pending.some((p) => p.st.size > SMALL_FILE)) return NEEDS_HASHING;
      for (const p of pending) lines[p.index] = p.prefix + this.hashSmallStat(p.abs, p.st);
      h = `d:${hashString(lines.join('\n'))}`;
    } else h = this.hashSmallStat(file, st);
    this.unread.delete(file);
    this.memo.set(file, h);
    return h;
  }

  /** {@link hashStat} for a file of at most {@link SMALL_FILE} bytes. */
  private hashSmallStat(file: string, st: Stats): string {
    const rec = this.cache.get(file);
    if (isSameStat(rec, st) && rec[4] === 1) return rec[3];
    const hash = hashSmallSync(file, st.size);
    this.remember(file, hash, st);
    return hash;
  }

  private async hashStat(file: string, st: Stats): Promise<string> {
    const rec = this.cache.get(file);
    if (isSameStat(rec, st) && rec[4] === 1) return rec[3];
    const hash = await hashContent(file, st.size);
    this.remember(file, hash, st);
    return hash;
  }

  /**
   * Caches a hash just computed with the stat taken *before* reading: a change during or after
   * the read gives a newer mtime (or size or inode), so the record can only be conservative.
   * It is trusted only when the mtime was already older than the clock granularity margin.
   */
  private remember(file: string, hash: string, before: Stats): void {
    this.misses++;
    const trusted = Math.max(before.mtimeMs, before.ctimeMs) < Date.now() - RACY_MS ? 1 : 0;
    this.cache.set(file, [before.mtimeMs, before.size, before.ino, hash, trusted, before.ctimeMs]);
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
  private scanTree(dir: string): { lines: string[]; pending: PendingFile[] } {
    const lines: string[] = [];
    const pending: PendingFile[] = [];
    const walk = (rel: string): void => {
      const entries = readdirSync(path.join(dir, rel), { withFileTypes: true });
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const e of entries) {
        const relPath = rel === '' ? e.name : `${rel}/${e.name}`;
        const abs = path.join(dir, relPath);
        if (e.isSymbolicLink()) lines.push(`l ${relPath} ${readlinkSync(abs)}`);
        else if (e.isDirectory()) {
          lines.push(`d ${relPath}`);
          walk(relPath);
        } else if (e.isFile()) {
          const st = lstatSync(abs);
          const prefix = `f${(st.mode & 0o111) !== 0 ? 'x' : '-'} ${relPath} `;
          const rec = this.cache.get(abs);
          if (isSameStat(rec, st) && rec[4] === 1) lines.push(prefix + rec[3]);
          else {
            pending.push({ index: lines.length, abs, st, prefix });
            lines.push('');
          }
        } else lines.push(`o ${relPath}`);
      }
    };
    walk('');
    return { lines, pending };
  }

  /** Hash of a directory tree: sorted relative paths, types, exec bits and content hashes. */
  async hashTree(dir: string): Promise<string> {
    const { lines, pending } = this.scanTree(dir);
    for (const p of pending) lines[p.index] = p.prefix + (await this.hashStat(p.abs, p.st));
    return `d:${hashString(lines.join('\n'))}`;
  }

  /** {@link hashTree} when every file of the tree is known from the stat cache, else undefined. */
  private peekTree(dir: string): string | undefined {
    const { lines, pending } = this.scanTree(dir);
    return pending.length === 0 ? `d:${hashString(lines.join('\n'))}` : undefined;
  }

  /**
   * Re-hashes racy records (called before the cache is saved), so that the next no-op run
   * trusts every record and reads no file: files changed less than {@link RACY_MS} ago are
   * waited for (at most that long) rather than left racy.
   */
  async settle(): Promise<void> {
    // The stat each racy record was taken with is the "before" (one stat per file, after the wait).
    const racy: [string, FileRecord][] = [];
    let youngest = 0;
    for (const [file, rec] of this.cache) {
      if (rec[4] === 1) continue;
      racy.push([file, rec]);
      youngest = Math.max(youngest, rec[0], rec[5] ?? 0);
    }
    const wait = youngest + RACY_MS + 1 - Date.now();
    if (wait > 0 && wait <= RACY_MS + 1) await new Promise((r) => setTimeout(r, wait));
    for (const [file, rec] of racy) {
      const st = statSync(file, { throwIfNoEntry: false });
      if (st === undefined || !st.isFile()) {
        this.cache.delete(file);
        continue;
      }
      // Changed since it was hashed: leave it racy, the next run hashes it again.
      if (!isSameStat(rec, st)) continue;
      this.remember(file, await hashContent(file, st.size), st);
    }
  }
}
