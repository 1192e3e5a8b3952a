/**
 * Walks a Solution directory (without following symlinks) into a flat list of entries that the
 * pure lint rules and the layout step work on. `_build/` and `.git/` are skipped.
 */
import { constants } from 'node:fs';
import { access, lstat, readdir, readlink, stat } from 'node:fs/promises';
import path from 'node:path';

/** Directories of a Solution that are never content. */
export const SKIPPED_DIRS: ReadonlySet<string> = new Set(['_build', '.git']);

/** One entry of a Solution tree. */
export interface TreeEntry {
  /** POSIX path relative to the Solution root. */
  readonly rel: string;
  readonly type: 'file' | 'dir' | 'symlink' | 'other';
  /** For symlinks: the raw target. */
  readonly linkTarget?: string;
  /** For symlinks: the target (resolved lexically) lies outside the Solution root. */
  readonly escapes?: boolean;
  /** For symlinks: what the target is ('missing' when dangling). */
  readonly targetType?: 'file' | 'dir' | 'other' | 'missing';
  /** Files (and symlinks to files): whether this process can read them. */
  readonly readable: boolean;
}

async function isReadable(abs: string): Promise<boolean> {
  try {
    await access(abs, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

async function scanSymlink(root: string, abs: string, rel: string): Promise<TreeEntry> {
  const target = await readlink(abs);
  const resolved = path.resolve(path.dirname(abs), target);
  const relToRoot = path.relative(root, resolved);
  const escapes =
    path.isAbsolute(target) || relToRoot.startsWith('..') || path.isAbsolute(relToRoot);
  let targetType: TreeEntry['targetType'] = 'missing';
  try {
    const st = await stat(abs);
    targetType = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
  } catch {
    targetType = 'missing';
  }
  const readable = targetType !== 'missing' && (await isReadable(abs));
  return { rel, type: 'symlink', linkTarget: target, escapes, targetType, readable };
}

/** Lists every entry under `root`, sorted by path. */
export async function scanTree(root: string): Promise<TreeEntry[]> {
  const out: TreeEntry[] = [];
  const walk = async (relDir: string): Promise<void> => {
    const absDir = path.join(root, relDir);
    const names = (await readdir(absDir)).sort();
    for (const name of names) {
      if (relDir === '' && SKIPPED_DIRS.has(name)) continue;
      const rel = relDir === '' ? name : `${relDir}/${name}`;
      const abs = path.join(root, rel);
      const st = await lstat(abs);
      if (st.isSymbolicLink()) {
        out.push(await scanSymlink(root, abs, rel));
      } else if (st.isDirectory()) {
        const readable = await isReadable(abs);
        out.push({ rel, type: 'dir', readable });
        if (readable) await walk(rel);
      } else if (st.isFile()) {
        out.push({ rel, type: 'file', readable: await isReadable(abs) });
      } else {
        out.push({ rel, type: 'other', readable: false });
      }
    }
  };
  await walk('');
  return out;
}
