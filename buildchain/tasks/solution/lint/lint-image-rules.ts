/**
 * Image references against the packaged images: a manifest deploying an image the archive does
 * not hold fails on the cluster (an offline one cannot pull it anywhere else), so it is an
 * error; a packaged image nothing references is dead weight on the ISO, a warning (an operator
 * may still deploy it from code). Pure.
 */
import type { ImageRef } from './image-refs.ts';
import { error, warning, type Problem } from './problems.ts';

/** A packaged image: `images/<name>/<version>/` on the ISO. */
export interface PackagedImage {
  readonly name: string;
  readonly version: string;
}

const PREFIXED = '{{ repository }}/<name>:<tag> (in ui/ files: @REPOSITORY@/<name>:@VERSION@)';

function packagedList(images: readonly PackagedImage[], name?: string): string {
  const list = images
    .filter((i) => name === undefined || i.name === name)
    .map((i) => `${i.name}:${i.version}`);
  return list.length === 0 ? 'none' : list.join(', ');
}

function checkRef(ref: ImageRef, images: readonly PackagedImage[]): Problem | undefined {
  const at = ref.where;
  if (ref.kind === 'invalid') {
    return error(
      'image-ref-invalid',
      ref.file,
      `${at}: ${JSON.stringify(ref.raw)} is not an image reference once rendered`,
      `write ${PREFIXED}, naming an image of solution.yaml`,
    );
  }
  if (ref.kind === 'external') {
    return warning(
      'image-external',
      ref.file,
      `${at}: ${ref.raw} is pulled from ${ref.registry ?? 'another registry'}, not from the archive: an offline cluster cannot pull it`,
      `package it in solution.yaml (source: ${ref.registry ?? ''}/${ref.image} with a digest) and write ${PREFIXED}`,
    );
  }
  const sameName = images.filter((i) => i.name === ref.image);
  const found = ref.tag === '' ? sameName.length > 0 : sameName.some((i) => i.version === ref.tag);
  if (found) {
    // 2.4 renders ui/ files with the archive's prefix: without it the cluster looks for the
    // image on docker.io, which an offline cluster cannot reach.
    if (ref.kind !== 'bare' || !ref.file.startsWith('ui/')) return undefined;
    return warning(
      'image-prefix-missing',
      ref.file,
      `${at}: ${ref.raw} has no registry: the cluster pulls it from docker.io, not from the archive`,
      `write @REPOSITORY@/${ref.image}${ref.tag === '' ? `@${ref.digest ?? ''}` : `:${ref.tag}`} (the build writes {{ repository }}, which MetalK8s renders)`,
    );
  }
  const shown = ref.tag === '' ? `${ref.image}@${ref.digest ?? ''}` : `${ref.image}:${ref.tag}`;
  return error(
    'image-not-packaged',
    ref.file,
    `${at}: image ${shown} is not packaged in the archive`,
    sameName.length > 0
      ? `fix the tag (packaged: ${packagedList(images, ref.image)}) or add ${ref.image}:${ref.tag} to images in solution.yaml`
      : `fix the name (packaged: ${packagedList(images)}) or add ${ref.image} to images in solution.yaml`,
  );
}

/** Options for {@link checkImageRefs}. */
export interface CheckImageRefsOptions {
  /** The file an unreferenced image is reported on (default `solution.yaml`; verify: its dir). */
  readonly imageFile?: (image: PackagedImage) => string;
}

/** Every reference must name a packaged image; every packaged image should be referenced. */
export function checkImageRefs(
  refs: readonly ImageRef[],
  images: readonly PackagedImage[],
  opts: CheckImageRefsOptions = {},
): Problem[] {
  const out: Problem[] = [];
  for (const ref of refs) {
    const p = checkRef(ref, images);
    if (p !== undefined) out.push(p);
  }
  const used = refs.filter((r) => r.kind === 'archive' || r.kind === 'bare');
  for (const img of images) {
    const isUsed = used.some(
      (r) => r.image === img.name && (r.tag === img.version || r.tag === ''),
    );
    if (!isUsed) {
      out.push(
        warning(
          'image-unreferenced',
          opts.imageFile?.(img) ?? 'solution.yaml',
          `image ${img.name}:${img.version} is packaged but no operator, UI or CR manifest references it`,
          `reference it as {{ repository }}/${img.name}:${img.version} where it is deployed (an operator may name it in a RELATED_IMAGE_* env var), or remove it from images`,
        ),
      );
    }
  }
  return out;
}
