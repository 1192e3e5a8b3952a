/**
 * The one tree walk: every entry under a directory, in a stable order (names sorted by code
 * unit at each level, a directory's entries right after it), typed with lstat so that a
 * symlink is reported as a symlink and never followed (the walk cannot leave the tree).
 *
 * The synchronous walks read directories through {@link listDirSync}, which lists a directory
 * once per process while it is unchanged: the checks of a no-op (target checks, directory
 * targets' hashes, the ISO root's strays, the temp sweep) read the same directories several
 * times, each time now for one stat.
 */
import { readdirSync, statSync, type Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { RACY_MS } from './racy.ts';

/** What an entry is, from lstat (a symlink is `symlink`, whatever it points to). */
export type WalkKind = 'file' | 'dir' | 'symlink' | 'other';

/** One entry found by {@link walkTree}. */
export interface WalkEntry {
  /** Path relative to the walked root, `/`-separated (never empty, never `.`). */
  readonly rel: string;
  /** Absolute (or root-relative, as the root was given) path. */
  readonly path: string;
  readonly kind: WalkKind;
}

/** Options of {@link walkTree}. */
export interface WalkOptions {
  /**
   * Called for every entry: false leaves it out, and for a directory skips what is under it.
   * Default: everything.
   */
  readonly filter?: (entry: WalkEntry) => boolean;
  /** A missing root gives an empty list instead of ENOENT (default false). */
  readonly missingOk?: boolean;
}

function kindOf(d: Dirent): WalkKind {
  if (d.isSymbolicLink()) return 'symlink';
  if (d.isDirectory()) return 'dir';
  if (d.isFile()) return 'file';
  return 'other';
}

const byName = (a: Dirent, b: Dirent): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** A directory's listing, with the stat taken (before the read) that it holds for. */
interface Listing {
  readonly dev: number;
  readonly ino: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly entries: readonly Dirent[];
}

/** Listings of this process by directory path (as given), each valid while its stat is. */
const listings = new Map<string, Listing>();

/**
 * The entries of a directory (not recursive; sorted by name, typed from the directory: a
 * symlink is a symlink), as `readdirSync(dir, { withFileTypes: true })` gives them; throws as
 * it does (ENOENT, ENOTDIR...). A directory listed before in this process whose stat (device,
 * inode, mtime, ctime) is unchanged is not read again: the same frozen array is returned.
 * Adding, removing or renaming an entry changes its directory's mtime and ctime (ctime cannot
 * be set back by hand); the stat is taken before the read, so a change during or after it
 * shows as a newer stat, unless it falls in the same clock tick: a directory changed less than
 * {@link RACY_MS} before the clock reading that precedes the stat is read again next time.
 */
export function listDirSync(dir: string): readonly Dirent[] {
  const clock = Date.now();
  const st = statSync(dir, { throwIfNoEntry: false });
  const seen = listings.get(dir);
  if (
    seen !== undefined &&
    st !== undefined &&
    st.ino === seen.ino &&
    st.mtimeMs === seen.mtimeMs &&
    st.ctimeMs === seen.ctimeMs &&
    st.dev === seen.dev
  )
    return seen.entries;
  listings.delete(dir);
  const entries = Object.freeze(readdirSync(dir, { withFileTypes: true }).sort(byName));
  if (st?.isDirectory() === true && Math.max(st.mtimeMs, st.ctimeMs) < clock - RACY_MS)
    listings.set(dir, {
      dev: st.dev,
      ino: st.ino,
      mtimeMs: st.mtimeMs,
      ctimeMs: st.ctimeMs,
      entries,
    });
  return entries;
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

/** Every entry under `root` (not `root` itself), pre-order, sorted; see the module comment. */
export async function walkTree(root: string, opts: WalkOptions = {}): Promise<WalkEntry[]> {
  const out: WalkEntry[] = [];
  const visit = async (dir: string, relDir: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (relDir === '' && opts.missingOk === true && isMissing(err)) return;
      throw err;
    }
    for (const d of entries.sort(byName)) {
      const e = entryOf(dir, relDir, d);
      if (opts.filter !== undefined && !opts.filter(e)) continue;
      out.push(e);
      if (e.kind === 'dir') await visit(e.path, e.rel);
    }
  };
  await visit(root, '');
  return out;
}

/**
 * {@link walkTree}, synchronous (for code that defines tasks, which must not await), each
 * directory read through {@link listDirSync}.
 */
export function walkTreeSync(root: string, opts: WalkOptions = {}): WalkEntry[] {
  return walkListed(root, opts, () => undefined);
}

/** {@link walkTreeSync}, telling `listed` each directory read and the listing it got. */
function walkListed(
  root: string,
  opts: WalkOptions,
  listed: (dir: string, entries: readonly Dirent[]) => void,
): WalkEntry[] {
  const out: WalkEntry[] = [];
  const visit = (dir: string, relDir: string): void => {
    let entries: readonly Dirent[];
    try {
      entries = listDirSync(dir);
    } catch (err) {
      if (relDir === '' && opts.missingOk === true && isMissing(err)) return;
      throw err;
    }
    listed(dir, entries);
    for (const d of entries) {
      const e = entryOf(dir, relDir, d);
      if (opts.filter !== undefined && !opts.filter(e)) continue;
      out.push(e);
      if (e.kind === 'dir') visit(e.path, e.rel);
    }
  };
  visit(root, '');
  return out;
}

function entryOf(dir: string, relDir: string, d: Dirent): WalkEntry {
  return {
    rel: relDir === '' ? d.name : `${relDir}/${d.name}`,
    path: path.join(dir, d.name),
    kind: kindOf(d),
  };
}

/**
 * {@link walkTreeSync} of one tree, walked again only when the tree may have changed since the
 * last walk: a later call that gets the very same listing (see {@link listDirSync}: a
 * directory unchanged since it was read) for each directory of the last walk returns the same
 * list (the same array), for one stat per directory. Adding, removing or renaming an entry
 * changes its directory's stat, so the names and kinds are those of the tree at that call (a
 * file's content is no part of the list). A directory changed within the racy margin of its
 * read gets a new listing each time, so the tree is walked again. A missing root (`missingOk`)
 * is walked again every time.
 */
export class ReusableWalk {
  private entries: WalkEntry[] | undefined;
  /** The directories of the last walk, each with the listing it was read from. */
  private listed: (readonly [dir: string, entries: readonly Dirent[]])[] = [];

  constructor(
    readonly root: string,
    private readonly opts: { readonly missingOk?: boolean } = {},
  ) {}

  /** The entries of the tree (the array of the last walk while no directory changed). */
  walk(): readonly WalkEntry[] {
    if (this.entries !== undefined && this.unchanged()) return this.entries;
    const listed: (readonly [string, readonly Dirent[]])[] = [];
    const entries = walkListed(this.root, this.opts, (dir, l) => listed.push([dir, l]));
    // No listing: the root is missing (missingOk), and may be there next time.
    this.entries = listed.length > 0 ? entries : undefined;
    this.listed = listed;
    return entries;
  }

  private unchanged(): boolean {
    try {
      for (const [dir, entries] of this.listed) if (listDirSync(dir) !== entries) return false;
    } catch {
      return false; // a directory gone
    }
    return true;
  }
}
