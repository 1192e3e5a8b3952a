/**
 * Directory outputs made whole before they are visible: a tree is built in a staging directory
 * beside its destination, then swapped in with {@link replaceDir}. Files are put into a staging
 * tree with {@link linkOrCopy} (a hard link when the filesystem allows it).
 */
import { randomBytes } from 'node:crypto';
import { copyFile, link, rename, rm } from 'node:fs/promises';

/** Errno codes of link() meaning "no hard link here": copy instead. */
const NO_LINK = new Set(['EXDEV', 'EPERM', 'EMLINK']);

/** A fresh staging directory name beside `dest`: `<dest>.staging-<pid>-<8 hex>` (not created). */
export function stagingPathFor(dest: string): string {
  return `${dest}.staging-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * Renames the complete directory `staging` onto `dest`, replacing an existing `dest` (moved
 * aside to `<dest>.old-<pid>-<hex>`, then removed). Same filesystem: both renames are atomic.
 */
export async function replaceDir(staging: string, dest: string): Promise<void> {
  const old = `${dest}.old-${process.pid}-${randomBytes(4).toString('hex')}`;
  const hadOld = await rename(dest, old).then(
    () => true,
    (err: unknown) => {
      if ((err as { code?: unknown }).code === 'ENOENT') return false;
      throw err;
    },
  );
  await rename(staging, dest);
  if (hadOld) await rm(old, { recursive: true, force: true });
}

/** Options of {@link linkOrCopy}. */
export interface LinkOrCopyOptions {
  /** An existing `dst` is kept as it is (default false: EEXIST is an error). */
  readonly existingOk?: boolean;
}

/**
 * Hard-links `src` to `dst`, copying when linking is impossible (another filesystem, no
 * permission to link, too many links). Resolves true when `dst` is a hard link of `src`.
 */
export async function linkOrCopy(
  src: string,
  dst: string,
  opts: LinkOrCopyOptions = {},
): Promise<boolean> {
  try {
    await link(src, dst);
    return true;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'EEXIST' && opts.existingOk === true) return false;
    if (typeof code !== 'string' || !NO_LINK.has(code)) throw err;
    await copyFile(src, dst);
    return false;
  }
}
