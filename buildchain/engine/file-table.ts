/**
 * The stat cache's records (path → {@link FileRecord}) as columns, the form `state.json` stores
 * them in: the paths, the content hashes, and the stat numbers of every record in one
 * Float64Array (`mtimeMs, size, ino, ctimeMs, trusted` per record; a record without ctime has
 * NaN, which no stat equals). Loading 20 000 records then builds no tuple, no boxed number and
 * no dictionary: two string arrays and one typed array (off the JavaScript heap). The numbers are
 * in the machine's byte order: a state carried to a machine of the other order has trust flags
 * that are neither 0 nor 1 (the records are dropped) or numbers that match no stat (the files
 * are read again), never a wrong hash.
 *
 * Lookups: the records are saved in the order they were first hashed, which is the order the
 * next run looks them up in (the graph's order); {@link RowLookup} finds a path's row by a
 * cursor, the few rows around it, and only then an index (built on that first miss, or on the
 * first new record). Either way the answer is the record of that path, exactly.
 */
import type { Stats } from 'node:fs';
import type { MapLike } from './record-map.ts';
import { RowLookup } from './row-lookup.ts';

/**
 * `[mtimeMs, size, ino, hash, trusted (1) or racy (0), ctimeMs]`. The times are stat's
 * millisecond values with their fraction (sub-microsecond on Linux). A record of an older
 * state without ctime never matches: the file is hashed once more, its tasks stay up to date.
 */
export type FileRecord = [number, number, number, string, 0 | 1, number?];

/** Numbers per record in {@link FileTable}'s stat column. */
export const STAT_FIELDS = 5;

const isString = (v: unknown): v is string => typeof v === 'string';

/** Rows either side of the cursor looked at before an index is built. */
const NEAR = 4;

export class FileTable implements MapLike<FileRecord> {
  /** Path per row; '' for a removed row (no lookup matches it). */
  private paths: string[];
  /** Content hash per row; undefined for a removed row. */
  private hashes: (string | undefined)[];
  private stats: Float64Array;
  private rows: number;
  private live: number;
  private readonly lookup: RowLookup;

  constructor(paths: string[] = [], hashes: string[] = [], stats?: Float64Array) {
    this.paths = paths;
    this.hashes = hashes;
    this.rows = paths.length;
    this.live = paths.length;
    this.stats = stats ?? new Float64Array(Math.max(64, paths.length) * STAT_FIELDS);
    this.lookup = new RowLookup(this.paths, NEAR);
  }

  /**
   * The table stored as `paths`, `hashes` and `stats` (base64 of the Float64Array's bytes, see
   * {@link columns}), or undefined when they do not make one (a damaged snapshot: the records
   * are a cache, dropped whole, and the files are hashed again).
   */
  static fromColumns(paths: unknown, hashes: unknown, stats: unknown): FileTable | undefined {
    if (!Array.isArray(paths) || !Array.isArray(hashes) || !isString(stats)) return undefined;
    const n = paths.length;
    if (hashes.length !== n) return undefined;
    for (let i = 0; i < n; i++)
      if (!isString(paths[i]) || paths[i] === '' || !isString(hashes[i])) return undefined;
    const bytes = Buffer.from(stats, 'base64');
    if (bytes.length !== n * STAT_FIELDS * 8) return undefined;
    // A copy into an aligned buffer of its own (the decoded bytes may sit at any offset).
    const numbers = new Float64Array(Math.max(64, n) * STAT_FIELDS);
    new Uint8Array(numbers.buffer).set(bytes);
    for (let i = 0; i < n; i++) {
      const trusted = numbers[i * STAT_FIELDS + 4];
      if (trusted !== 0 && trusted !== 1) return undefined;
    }
    return new FileTable(paths as string[], hashes as string[], numbers);
  }

  get size(): number {
    return this.live;
  }

  /** The row of `path`, or -1. */
  private rowOf(path: string): number {
    return this.lookup.rowOf(path);
  }

  /**
   * The recorded hash of `path` when the record is trusted and taken with this very stat
   * (mtime, size, inode, ctime): what a no-op asks of every file, without building the record.
   */
  trustedHash(path: string, st: Stats): string | undefined {
    const row = this.rowOf(path);
    if (row < 0) return undefined;
    const s = this.stats;
    const o = row * STAT_FIELDS;
    return s[o] === st.mtimeMs &&
      s[o + 1] === st.size &&
      s[o + 2] === st.ino &&
      s[o + 3] === st.ctimeMs &&
      s[o + 4] === 1
      ? this.hashes[row]
      : undefined;
  }

  get(path: string): FileRecord | undefined {
    const row = this.rowOf(path);
    return row < 0 ? undefined : this.recordAt(row);
  }

  private recordAt(row: number): FileRecord {
    const s = this.stats;
    const o = row * STAT_FIELDS;
    const hash = this.hashes[row] as string;
    const trusted = s[o + 4] === 1 ? 1 : 0;
    const ctime = s[o + 3] as number;
    return Number.isNaN(ctime)
      ? [s[o] as number, s[o + 1] as number, s[o + 2] as number, hash, trusted]
      : [s[o] as number, s[o + 1] as number, s[o + 2] as number, hash, trusted, ctime];
  }

  has(path: string): boolean {
    return this.rowOf(path) >= 0;
  }

  set(path: string, rec: FileRecord): this {
    let row = this.rowOf(path);
    if (row < 0) {
      row = this.rows++;
      this.live++;
      if ((row + 1) * STAT_FIELDS > this.stats.length) {
        const grown = new Float64Array(this.stats.length * 2 + 64 * STAT_FIELDS);
        grown.set(this.stats);
        this.stats = grown;
      }
      this.paths[row] = path;
      this.lookup.added(path, row);
    }
    this.hashes[row] = rec[3];
    const s = this.stats;
    const o = row * STAT_FIELDS;
    s[o] = rec[0];
    s[o + 1] = rec[1];
    s[o + 2] = rec[2];
    s[o + 3] = rec[5] ?? NaN;
    s[o + 4] = rec[4];
    return this;
  }

  delete(path: string): boolean {
    const row = this.rowOf(path);
    if (row < 0) return false;
    this.lookup.removed(path);
    this.paths[row] = '';
    this.hashes[row] = undefined;
    this.live--;
    return true;
  }

  *[Symbol.iterator](): Iterator<[string, FileRecord]> {
    for (let i = 0; i < this.rows; i++) {
      const p = this.paths[i] as string;
      if (p !== '') yield [p, this.recordAt(i)];
    }
  }

  /** The live records as the columns {@link fromColumns} reads (removed rows left out). */
  columns(): { paths: string[]; hashes: string[]; stats: string } {
    const paths: string[] = [];
    const hashes: string[] = [];
    const out = new Float64Array(this.live * STAT_FIELDS);
    for (let i = 0; i < this.rows; i++) {
      const p = this.paths[i] as string;
      if (p === '') continue;
      out.set(
        this.stats.subarray(i * STAT_FIELDS, (i + 1) * STAT_FIELDS),
        paths.length * STAT_FIELDS,
      );
      paths.push(p);
      hashes.push(this.hashes[i] as string);
    }
    return { paths, hashes, stats: Buffer.from(out.buffer).toString('base64') };
  }
}
