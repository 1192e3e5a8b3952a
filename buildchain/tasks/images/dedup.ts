/**
 * Native dedup pass (successor of `hardlink -c`): files with equal contents under the given
 * directories become hard links of one inode. Files already sharing an inode are not read;
 * others are grouped by size first, then by sha256. {@link inodeSnapshot} records the result,
 * so that a producer re-creating files (new inodes) makes the pass run again.
 */
import { statSync } from 'node:fs';
import { link, rename, rm, stat } from 'node:fs/promises';
import { tempPathFor } from '../../lib/fs/atomic-write.ts';
import { sha256File } from '../../lib/fs/hash.ts';
import { walkTree, walkTreeSync } from '../../lib/fs/walk.ts';

/** What {@link dedupTree} did. */
export interface DedupResult {
  readonly files: number;
  /** Paths replaced by a link. */
  readonly linked: number;
  /** Bytes no longer stored twice. */
  readonly savedBytes: number;
}

interface FileInfo {
  readonly path: string;
  readonly size: number;
  readonly inode: string;
}

/** Non-empty regular files under `dir` (sorted walk, so the kept copy of equal files is stable). */
async function walk(dir: string, out: FileInfo[]): Promise<void> {
  for (const e of await walkTree(dir, { missingOk: true })) {
    if (e.kind !== 'file') continue;
    const st = await stat(e.path);
    if (st.size > 0) out.push({ path: e.path, size: st.size, inode: `${st.dev}:${st.ino}` });
  }
}

/** Links duplicate files under `dirs` (same filesystem); idempotent. */
export async function dedupTree(dirs: readonly string[]): Promise<DedupResult> {
  const files: FileInfo[] = [];
  for (const d of dirs) await walk(d, files);
  const bySize = new Map<number, FileInfo[]>();
  for (const f of files) bySize.set(f.size, [...(bySize.get(f.size) ?? []), f]);
  let linked = 0;
  let savedBytes = 0;
  for (const group of bySize.values()) {
    const inodes = new Map<string, FileInfo[]>();
    for (const f of group) inodes.set(f.inode, [...(inodes.get(f.inode) ?? []), f]);
    if (inodes.size < 2) continue;
    const keeper = new Map<string, FileInfo>();
    for (const same of inodes.values()) {
      const first = same[0];
      if (first === undefined) continue;
      const digest = await sha256File(first.path);
      const keep = keeper.get(digest);
      if (keep === undefined) {
        keeper.set(digest, first);
        continue;
      }
      for (const f of same) {
        const tmp = tempPathFor(f.path);
        await link(keep.path, tmp);
        await rename(tmp, f.path).catch(async (err: unknown) => {
          await rm(tmp, { force: true });
          throw err;
        });
        linked++;
      }
      savedBytes += first.size;
    }
  }
  return { files: files.length, linked, savedBytes };
}

/**
 * Inode of every non-empty file under `dirs`: absolute path → `dev:ino`. Taken after
 * {@link dedupTree}, it says what the pass linked; stat only, no file is read. Synchronous
 * (the target check of every evaluation, no-ops included): ~100 stats in a row cost less
 * than their round trips through the thread pool.
 */
export function inodeSnapshot(dirs: readonly string[]): Record<string, string> {
  const files: FileInfo[] = [];
  for (const d of dirs)
    for (const e of walkTreeSync(d, { missingOk: true })) {
      if (e.kind !== 'file') continue;
      const st = statSync(e.path);
      if (st.size > 0) files.push({ path: e.path, size: st.size, inode: `${st.dev}:${st.ino}` });
    }
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
