/**
 * The one tree walk: every entry under a directory, in a stable order (names sorted by code
 * unit at each level, a directory's entries right after it), typed with lstat so that a
 * symlink is reported as a symlink and never followed (the walk cannot leave the tree).
 */
import { readdirSync, statSync, type Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';

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

/** {@link walkTree}, synchronous (for code that defines tasks, which must not await). */
export function walkTreeSync(root: string, opts: WalkOptions = {}): WalkEntry[] {
  const out: WalkEntry[] = [];
  const visit = (dir: string, relDir: string): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      if (relDir === '' && opts.missingOk === true && isMissing(err)) return;
      throw err;
    }
    for (const d of entries.sort(byName)) {
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

/** A directory read by a {@link ReusableWalk}, with the stat it was read with. */
type DirStamp = readonly [dir: string, ino: number, mtimeMs: number, ctimeMs: number];

/**
 * {@link walkTreeSync} of one tree, walked again only when the tree may have changed since the
 * last walk: the walk stats every directory before reading it, and a later call that finds the
 * same inode, mtime and ctime on each of them returns the same list (the same array). Adding,
 * removing or renaming an entry changes its directory's mtime and ctime, and ctime cannot be
 * set back by hand, so the names and kinds are those of the tree at that call (a file's
 * content is no part of the list). A directory changed less than `racyMs` before the walk began
 * is not trusted (a change within the same clock tick can leave its times as they were): the
 * next call walks again. A missing root (`missingOk`) is walked again every time.
 */
export class ReusableWalk {
  private entries: WalkEntry[] | undefined;
  private stamps: DirStamp[] = [];

  constructor(
    readonly root: string,
    private readonly opts: { readonly racyMs: number; readonly missingOk?: boolean },
  ) {}

  /** The entries of the tree (the array of the last walk while no directory changed). */
  walk(): readonly WalkEntry[] {
    if (this.entries !== undefined && this.unchanged()) return this.entries;
    this.entries = undefined;
    const start = Date.now();
    // The stamps of the directories read, until one is missing or changed too recently.
    const taken: { stamps: DirStamp[] | undefined } = { stamps: [] };
    const stamp = (dir: string): void => {
      if (taken.stamps === undefined) return;
      const st = statSync(dir, { throwIfNoEntry: false });
      if (st === undefined || Math.max(st.mtimeMs, st.ctimeMs) >= start - this.opts.racyMs)
        taken.stamps = undefined;
      else taken.stamps.push([dir, st.ino, st.mtimeMs, st.ctimeMs]);
    };
    stamp(this.root);
    const entries = walkTreeSync(this.root, {
      ...(this.opts.missingOk === undefined ? {} : { missingOk: this.opts.missingOk }),
      // Called for a directory before the walk reads it: its stat is taken first, so that a
      // change made during or after the read shows as a newer stat.
      filter: (e) => {
        if (e.kind === 'dir') stamp(e.path);
        return true;
      },
    });
    if (taken.stamps !== undefined) {
      this.entries = entries;
      this.stamps = taken.stamps;
    }
    return entries;
  }

  private unchanged(): boolean {
    for (const [dir, ino, mtimeMs, ctimeMs] of this.stamps) {
      const st = statSync(dir, { throwIfNoEntry: false });
      if (st?.ino !== ino || st.mtimeMs !== mtimeMs || st.ctimeMs !== ctimeMs) return false;
    }
    return true;
  }
}
