/**
 * skopeo `dir:` layouts (`manifest.json`, `version`, one file per blob named by bare hex digest,
 * `<hex>.manifest.json` per platform for lists) materialised from the blob store with hard
 * links, through a staging directory renamed into place: a layout is complete or absent.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { linkOrCopy, replaceDir, stagingPathFor } from '../../lib/fs/staging.ts';

/** The `version` file of skopeo's dir transport. */
export const DIR_TRANSPORT_VERSION = 'Directory Transport Version: 1.1\n';

/** Options for {@link materialiseLayout}. */
export interface MaterialiseLayoutOptions {
  /** Final directory, e.g. `<isoRoot>/images/<name>/<version>`; replaced atomically. */
  readonly dest: string;
  /** Exact bytes of `manifest.json` (an image manifest, or a list/index). */
  readonly manifest: Uint8Array;
  /** Per-platform manifests of a list/index, stored as `<hex>.manifest.json`. */
  readonly instances?: readonly { readonly digest: string; readonly bytes: Uint8Array }[];
  /** Blob files (in the store) to link in, each named by its bare hex digest. */
  readonly blobs: readonly string[];
}

/** Writes a complete layout at `dest` (see {@link MaterialiseLayoutOptions}). */
export async function materialiseLayout(opts: MaterialiseLayoutOptions): Promise<void> {
  const dest = path.resolve(opts.dest);
  await mkdir(path.dirname(dest), { recursive: true });
  const staging = stagingPathFor(dest);
  try {
    await mkdir(staging);
    await writeFile(path.join(staging, 'manifest.json'), opts.manifest);
    await writeFile(path.join(staging, 'version'), DIR_TRANSPORT_VERSION);
    for (const inst of opts.instances ?? []) {
      await writeFile(path.join(staging, `${inst.digest.slice('sha256:'.length)}.manifest.json`), inst.bytes);
    }
    await Promise.all(opts.blobs.map((b) => linkOrCopy(b, path.join(staging, path.basename(b)), { existingOk: true })));
    await replaceDir(staging, dest);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}
