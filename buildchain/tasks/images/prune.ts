/**
 * Removes what the image list no longer names: old `images/<name>/<version>/` layouts,
 * names without any kept version, stale archives, and leftovers of interrupted runs. Only
 * inside the build directory: a symlink leading out of it is never followed.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { removeAllInside } from '../../lib/fs/fence.ts';

/** Options for {@link pruneImages}. */
export interface PruneImagesOptions {
  /** `<isoRoot>/images`. */
  readonly imagesDir: string;
  /** `name/version` of every dir-shipped image to keep. */
  readonly keep: ReadonlySet<string>;
  /** Absolute paths of archives (tars) to keep; other `*.tar` directly under imagesDir go. */
  readonly keepArchives: ReadonlySet<string>;
  /** The build directory (BUILD_ROOT): nothing that resolves outside it is removed. */
  readonly fence: string;
}

/**
 * Deletes and returns the removed paths (sorted). Throws `invalid-input` (FenceError) before
 * removing anything when one of them resolves outside {@link PruneImagesOptions.fence}.
 */
export async function pruneImages(o: PruneImagesOptions): Promise<string[]> {
  const removed: string[] = [];
  const entries = await readdir(o.imagesDir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const p = path.join(o.imagesDir, e.name);
    if (e.isFile() && (e.name.endsWith('.tar') || e.name.includes('.tmp-')) && !o.keepArchives.has(p)) {
      removed.push(p);
    } else if (e.isDirectory()) {
      const versions = await readdir(p, { withFileTypes: true });
      const kept = versions.filter((v) => v.isDirectory() && o.keep.has(`${e.name}/${v.name}`));
      if (kept.length === 0) {
        removed.push(p);
        continue;
      }
      for (const v of versions) if (!o.keep.has(`${e.name}/${v.name}`)) removed.push(path.join(p, v.name));
    }
  }
  await removeAllInside(o.fence, removed);
  return removed.sort();
}
