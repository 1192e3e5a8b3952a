/**
 * Where the images domain writes, derived from the config: apart from the task factory, so
 * that the actions it wires import it without a cycle.
 */
import path from 'node:path';
import type { BuildConfig } from '../../config/config.ts';

/** Where the images domain writes, derived from the config. */
export interface ImagesPaths {
  readonly imagesDir: string;
  readonly blobs: string;
  /** Layouts of archive images (not on the ISO). */
  readonly archiveLayouts: string;
  /** buildah/podman private storage and temp files. */
  readonly containers: string;
  /** nginx include for the images, and the constants include (both in the Salt tree). */
  readonly registryInclude: string;
  readonly registryCommonInclude: string;
}

/** The {@link ImagesPaths} of a build. */
export function imagesPaths(config: BuildConfig): ImagesPaths {
  const files = path.join(config.isoRoot, 'salt', 'metalk8s', 'repo', 'files');
  const lower = config.projectName.toLowerCase();
  return {
    imagesDir: path.join(config.isoRoot, 'images'),
    blobs: path.join(config.buildRoot, 'blobs'),
    archiveLayouts: path.join(config.buildRoot, 'images-archives'),
    containers: path.join(config.buildRoot, 'containers'),
    registryInclude: path.join(files, `${lower}-registry.inc`),
    registryCommonInclude: path.join(files, `${lower}-registry-common.inc`),
  };
}
