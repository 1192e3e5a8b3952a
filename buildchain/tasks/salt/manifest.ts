/**
 * `salt/MANIFEST`: the explicit list of shipped Salt files. Where each file goes on the ISO,
 * and which files under `salt/` are present but not shipped (warned about, never shipped).
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { TaskError } from '../../engine/task.ts';
import { requireInside } from '../../lib/fs/fence.ts';
import { walkTreeSync } from '../../lib/fs/walk.ts';

export const SALT_DIR = 'salt';
export const SALT_MANIFEST = 'salt/MANIFEST';

/** One shipped file. */
export interface SaltFile {
  /** Source relative to the repository root, e.g. `salt/top.sls.in`. */
  readonly source: string;
  /** Destination relative to the ISO root, e.g. `salt/top.sls` or `pillar/top.sls`. */
  readonly dest: string;
  /** `*.in`: rendered with @@VERSION. */
  readonly template: boolean;
}

/** Parses MANIFEST text: one path per line relative to `salt/`, `#` comments. */
export function parseSaltManifest(text: string): SaltFile[] {
  const files: SaltFile[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    if (line.startsWith('/') || line.split('/').includes('..')) {
      throw new Error(`${SALT_MANIFEST}: '${line}' must be a relative path inside salt/`);
    }
    const template = line.endsWith('.in');
    const out = template ? line.slice(0, -3) : line;
    files.push({
      source: `${SALT_DIR}/${line}`,
      dest: out.startsWith('pillar/') ? out : `salt/${out}`,
      template,
    });
  }
  return files;
}

/** The hint of an entry that is not a file of the salt/ tree. */
const OUTSIDE_FIX =
  'ship only files of the salt/ tree: replace the symlink by the file itself (or a link that stays inside salt/), or remove the entry from salt/MANIFEST';

/**
 * Checks that the source of `f` (under `root`) resolves, symlinks followed, inside the
 * repository's salt/ tree and is a regular file; returns its resolved path, or undefined when
 * it does not exist (the engine reports a missing file dependency). A symlink staying inside
 * salt/ is fine: its content is shipped. Throws `invalid-input` naming salt/MANIFEST and the
 * entry otherwise (a link out of the tree, a directory, a FIFO or a device).
 */
export function checkSaltSource(root: string, f: SaltFile): string | undefined {
  const entry = f.source.slice(SALT_DIR.length + 1);
  const what = `${SALT_MANIFEST} entry '${entry}'`;
  const saltDir = requireInside(root, path.join(root, SALT_DIR), `the ${SALT_DIR}/ directory`, 'make salt/ a directory of the repository');
  const real = requireInside(saltDir, path.join(root, f.source), what, OUTSIDE_FIX);
  const st = statSync(real, { throwIfNoEntry: false });
  if (st === undefined) return undefined;
  if (!st.isFile()) {
    const kind = st.isDirectory() ? 'a directory' : 'not a regular file (a FIFO, socket or device)';
    const fix = st.isDirectory()
      ? `list the files under salt/${entry}/ one per line in salt/MANIFEST instead of the directory`
      : `replace salt/${entry} by a regular file, or remove the entry from salt/MANIFEST`;
    throw new TaskError('invalid-input', `${what} is ${kind}, not a file`, { hint: fix });
  }
  return real;
}

/** Files under `<root>/salt` (relative to root, sorted), MANIFEST and README* excluded. */
export function listSaltDir(root: string): string[] {
  return walkTreeSync(path.join(root, SALT_DIR))
    .filter((e) => e.kind !== 'dir' && !/^README/.test(path.basename(e.rel)))
    .map((e) => `${SALT_DIR}/${e.rel}`)
    .filter((r) => r !== SALT_MANIFEST)
    .sort();
}

/** Present under salt/ but not listed. */
export function unshippedSaltFiles(
  present: readonly string[],
  shipped: readonly SaltFile[],
): string[] {
  const listed = new Set(shipped.map((f) => f.source));
  return present.filter((p) => !listed.has(p));
}
