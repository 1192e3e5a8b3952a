/** Lint rules on the Solution tree: symlinks, readability, dropped files, ISO name limits. Pure. */
import { error, warning, type Problem } from './problems.ts';
import { entryFate } from './ship-rules.ts';
import type { TreeEntry } from '../config/tree-scan.ts';

/** ISO-9660 level 3: directory identifiers hold at most 31 bytes. */
export const MAX_ISO_DIR_NAME = 31;
/** ISO-9660 level 3: file name + '.' + extension hold at most 30 bytes. */
export const MAX_ISO_FILE_NAME = 30;

function checkEntry(e: TreeEntry): Problem[] {
  if (e.type === 'symlink' && e.escapes === true) {
    return [
      error(
        'symlink-escape',
        e.rel,
        `symlink to ${e.linkTarget ?? '?'} points outside the Solution directory`,
        'copy the file into the Solution, or point the link inside the tree with a relative path',
      ),
    ];
  }
  if (e.type === 'other') {
    return [
      error(
        'unreadable-file',
        e.rel,
        'not a regular file, directory or symlink (fifo, socket or device)',
        'remove it',
      ),
    ];
  }
  if (e.type === 'symlink' && e.targetType === 'missing') {
    return [
      error(
        'unreadable-file',
        e.rel,
        `dangling symlink to ${e.linkTarget ?? '?'}`,
        'fix the link target or remove the link',
      ),
    ];
  }
  if (!e.readable) {
    return [
      error(
        'unreadable-file',
        e.rel,
        `cannot be read by this user`,
        `fix its permissions (e.g. chmod a+r${e.type === 'dir' ? 'x' : ''})`,
      ),
    ];
  }
  return [];
}

/**
 * Level-3 name limits of the ISO-9660 tree. Rock Ridge and Joliet keep longer names for readers
 * that use them, but the archive guidelines require the limits, so author files must fit.
 * Generated names (image blobs, named by a 64-hex digest) rely on Rock Ridge and are not
 * checked.
 */
function checkIsoName(e: TreeEntry): Problem[] {
  const base = e.rel.slice(e.rel.lastIndexOf('/') + 1);
  const bytes = Buffer.byteLength(base, 'utf8');
  if (e.type === 'dir' && bytes > MAX_ISO_DIR_NAME) {
    return [
      error(
        'iso-name-too-long',
        e.rel,
        `directory name is ${bytes} bytes, more than ${MAX_ISO_DIR_NAME} (ISO-9660 level 3)`,
        `rename it to at most ${MAX_ISO_DIR_NAME} bytes`,
      ),
    ];
  }
  if (e.type !== 'dir' && bytes > MAX_ISO_FILE_NAME) {
    return [
      error(
        'iso-name-too-long',
        e.rel,
        `file name is ${bytes} bytes, more than ${MAX_ISO_FILE_NAME} (ISO-9660 level 3: name + "." + extension)`,
        `rename it to at most ${MAX_ISO_FILE_NAME} bytes`,
      ),
    ];
  }
  return [];
}

/** Every tree rule; `contexts` are the normalised build contexts of the image list. */
export function checkTree(entries: readonly TreeEntry[], contexts: readonly string[]): Problem[] {
  const out: Problem[] = [];
  for (const e of entries) {
    const entryProblems = checkEntry(e);
    out.push(...entryProblems);
    const fate = entryFate(e, contexts);
    if (
      fate.kind === 'ship' ||
      (fate.kind === 'container' && (e.rel.startsWith('operator/') || e.rel.startsWith('ui/')))
    ) {
      out.push(...checkIsoName(e));
    }
    if (fate.kind === 'drop' && entryProblems.length === 0) {
      out.push(
        error(
          'dropped-file',
          e.rel,
          `would be silently dropped from the ISO: ${fate.why}`,
          fate.fix,
        ),
      );
    }
    if (fate.kind === 'unused' && entryProblems.length === 0) {
      out.push(warning('unused-file', e.rel, fate.why, fate.fix));
    }
  }
  return out;
}
