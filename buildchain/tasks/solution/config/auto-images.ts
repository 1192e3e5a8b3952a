/**
 * `images: auto` (solution.yaml) and `build --images-auto`: the image list taken from the
 * manifests instead of being written twice. Every image the shipped manifests reference in the
 * archive (`{{ repository }}/<name>:<tag>`, or a bare `<name>:<tag>`) and that the list does not
 * already hold becomes a local image built from `images/<name>/` (its Containerfile or
 * Dockerfile). Remote images (pulled by digest) and images with build options (args, host
 * files, another context) are still listed in solution.yaml: `auto` only adds the others. Pure.
 */
import type { SolutionConfig, SolutionImage } from './solution-config.ts';
import { CONFIG_FILE } from './solution-config.ts';
import { error, type Problem } from '../lint/problems.ts';

/** What auto needs of an image reference (lint/image-refs.ts `ImageRef`). */
export interface AutoImageRef {
  readonly image: string;
  readonly tag: string;
  readonly file: string;
  readonly where: string;
  readonly kind: string;
  readonly digest?: string;
}

/** The directory an auto image is built from. */
export function autoContext(name: string): string {
  return `images/${name}`;
}

const BUILD_FILES = ['Containerfile', 'Dockerfile'];

/**
 * The config with its image list completed from `refs` (see the module doc); problems for the
 * references auto cannot turn into an image. `files`: the Solution's regular files, relative.
 */
export function withAutoImages(
  config: SolutionConfig,
  refs: readonly AutoImageRef[],
  files: ReadonlySet<string>,
): { config: SolutionConfig; problems: Problem[] } {
  const problems: Problem[] = [];
  const key = (name: string, version: string): string => `${name}\0${version}`;
  const have = new Set(config.images.map((i) => key(i.name, i.version)));
  const listedNames = new Set(config.images.map((i) => i.name));
  const added: SolutionImage[] = [];
  for (const ref of refs) {
    if (ref.kind !== 'archive' && ref.kind !== 'bare') continue;
    if (ref.tag === '') {
      // A digest alone: packaged only when the list holds that image (lint checks it).
      if (!listedNames.has(ref.image))
        problems.push(
          error(
            'image-auto',
            ref.file,
            `${ref.where}: ${ref.image}@${ref.digest ?? ''} names no tag, so images: auto cannot build it`,
            `reference it as ${ref.image}:<tag>, or list it in ${CONFIG_FILE} (source and digest)`,
          ),
        );
      continue;
    }
    if (have.has(key(ref.image, ref.tag))) continue;
    have.add(key(ref.image, ref.tag));
    const context = autoContext(ref.image);
    if (!BUILD_FILES.some((f) => files.has(`${context}/${f}`))) {
      problems.push(
        error(
          'image-auto',
          ref.file,
          `${ref.where}: image ${ref.image}:${ref.tag} is referenced, but ${context}/ has no Containerfile to build it from`,
          `add ${context}/Containerfile, or list the image in ${CONFIG_FILE} (source and digest for a remote image)`,
        ),
      );
      continue;
    }
    added.push({
      name: ref.image,
      version: ref.tag,
      ship: 'dir',
      platforms: 'linux/amd64',
      build: { context },
    });
  }
  return { config: { ...config, images: [...config.images, ...added] }, problems };
}
