/**
 * Native dedup pass (successor of `hardlink -c`): files with equal contents under the given
 * directories become hard links of one inode. Files already sharing an inode are not read;
 * others are grouped by size first, then by sha256. A file that is a blob the store verified
 * in this build (`claimed`: its inode is the store's file of that digest) is grouped by that
 * digest unread; it is read only when another file claims or has the same digest, before
 * anything is linked to or from it: a claim alone never links anything (a tampered blob is
 * hashed and left out). {@link inodeSnapshot} records the result, so that a producer
 * re-creating files (new inodes) makes the pass run again.
 */
import { readFileSync, statSync, type Stats } from 'node:fs';
import { link, rename, rm } from 'node:fs/promises';
import { tempPathFor } from '../../lib/fs/atomic-write.ts';
import { sha256File, sha256Hex } from '../../lib/fs/hash.ts';
import { walkTreeSync } from '../../lib/fs/walk.ts';

/** What {@link dedupTree} did. */
export interface DedupResult {
  readonly files: number;
  /** Paths replaced by a link. */
  readonly linked: number;
  /** Bytes no longer stored twice. */
  readonly savedBytes: number;
  /** Files read to hash them (claimed digests spare the others). */
  readonly hashed: number;
}

/** Options of {@link dedupTree}. */
export interface DedupOptions {
  /**
   * The hex sha256 a file is known by without reading it (the blob store's verified blobs,
   * by inode), or undefined. Only groups files: a file is read before it is linked.
   */
  readonly claimed?: (st: Stats) => string | undefined;
}

interface FileInfo {
  readonly path: string;
  readonly size: number;
  readonly inode: string;
  readonly claim: string | undefined;
}

/** Files up to this size are hashed with one synchronous read (no thread-pool round trips). */
const SMALL_FILE = 1024 * 1024;

/**
 * Non-empty regular files under `dir` (sorted walk, so the kept copy of equal files is
 * stable). Synchronous, as {@link inodeSnapshot}: a layout's few files stat faster in a row.
 */
function walk(dir: string, out: FileInfo[], claimed: DedupOptions['claimed']): void {
  for (const e of walkTreeSync(dir, { missingOk: true })) {
    if (e.kind !== 'file') continue;
    const st = statSync(e.path);
    if (st.size > 0)
      out.push({ path: e.path, size: st.size, inode: `${st.dev}:${st.ino}`, claim: claimed?.(st) });
  }
}

async function sha256Of(f: FileInfo): Promise<string> {
  if (f.size <= SMALL_FILE) return sha256Hex(readFileSync(f.path));
  return sha256File(f.path);
}

/** Links duplicate files under `dirs` (same filesystem); idempotent. */
export async function dedupTree(dirs: readonly string[], opts: DedupOptions = {}): Promise<DedupResult> {
  const files: FileInfo[] = [];
  for (const d of dirs) walk(d, files, opts.claimed);
  const bySize = new Map<number, FileInfo[]>();
  for (const f of files) bySize.set(f.size, [...(bySize.get(f.size) ?? []), f]);
  let linked = 0;
  let savedBytes = 0;
  let hashed = 0;
  const read = (f: FileInfo): Promise<string> => {
    hashed++;
    return sha256Of(f);
  };
  for (const group of bySize.values()) {
    const inodes = new Map<string, FileInfo[]>();
    for (const f of group) inodes.set(f.inode, [...(inodes.get(f.inode) ?? []), f]);
    if (inodes.size < 2) continue;
    // Per inode: its digest, read (checked) or only claimed.
    const entries: { same: FileInfo[]; first: FileInfo; digest: string; checked: boolean }[] = [];
    for (const same of inodes.values()) {
      const first = same[0];
      if (first === undefined) continue;
      const checked = first.claim === undefined;
      entries.push({ same, first, digest: first.claim ?? (await read(first)), checked });
    }
    const count = new Map<string, number>();
    for (const e of entries) count.set(e.digest, (count.get(e.digest) ?? 0) + 1);
    // A claimed digest that another file shares: read before linking anything to or from it.
    for (const e of entries) {
      if (e.checked || (count.get(e.digest) ?? 0) < 2) continue;
      e.digest = await read(e.first);
      e.checked = true;
    }
    const keeper = new Map<string, FileInfo>();
    for (const e of entries) {
      if (!e.checked) continue;
      const keep = keeper.get(e.digest);
      if (keep === undefined) {
        keeper.set(e.digest, e.first);
        continue;
      }
      for (const f of e.same) {
        const tmp = tempPathFor(f.path);
        await link(keep.path, tmp);
        await rename(tmp, f.path).catch(async (err: unknown) => {
          await rm(tmp, { force: true });
          throw err;
        });
        linked++;
      }
      savedBytes += e.first.size;
    }
  }
  return { files: files.length, linked, savedBytes, hashed };
}

/**
 * Inode of every non-empty file under `dirs`: absolute path → `dev:ino`. Taken after
 * {@link dedupTree}, it says what the pass linked; stat only, no file is read. Synchronous
 * (the target check of every evaluation, no-ops included): ~100 stats in a row cost less
 * than their round trips through the thread pool.
 */
export function inodeSnapshot(dirs: readonly string[]): Record<string, string> {
  const files: FileInfo[] = [];
  for (const d of dirs) walk(d, files, undefined);
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return Object.fromEntries(files.map((f) => [f.path, f.inode]));
}

/**
 * How `now` differs from the snapshot `before` (files added, removed, or with another inode,
 * e.g. re-created by a producer after the ISO root was deleted): the first `max` paths, with
 * the count of the others. Empty when equal.
 */
export function snapshotChanges(
  before: Readonly<Record<string, string>>,
  now: Readonly<Record<string, string>>,
  max = 3,
): string[] {
  const changed: string[] = [];
  for (const [p, ino] of Object.entries(now)) {
    const old = before[p];
    if (old === undefined) changed.push(`${p} (new)`);
    else if (old !== ino) changed.push(`${p} (re-created)`);
  }
  for (const p of Object.keys(before)) if (!(p in now)) changed.push(`${p} (gone)`);
  if (changed.length <= max) return changed;
  return [...changed.slice(0, max), `and ${changed.length - max} more`];
}
