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

/**
 * The registry includes of a product, relative to the ISO root: `<name>-registry.inc` (the
 * images, per version) and `<name>-registry-common.inc` (constants), name = PROJECT_NAME in
 * lower case. MetalK8s 2.4 places them in its repositories server's conf.d.
 */
export function registryIncludeFiles(projectName: string): { readonly include: string; readonly common: string } {
  const files = path.join('salt', 'metalk8s', 'repo', 'files');
  const lower = projectName.toLowerCase();
  return { include: path.join(files, `${lower}-registry.inc`), common: path.join(files, `${lower}-registry-common.inc`) };
}

/** The {@link ImagesPaths} of a build. */
export function imagesPaths(config: BuildConfig): ImagesPaths {
  const includes = registryIncludeFiles(config.projectName);
  return {
    imagesDir: path.join(config.isoRoot, 'images'),
    blobs: path.join(config.buildRoot, 'blobs'),
    archiveLayouts: path.join(config.buildRoot, 'images-archives'),
    containers: path.join(config.buildRoot, 'containers'),
    registryInclude: path.join(config.isoRoot, includes.include),
    registryCommonInclude: path.join(config.isoRoot, includes.common),
  };
}
