/**
 * Stages the ISO root of a Solution (archive layout 1) in a temporary directory renamed into
 * place: `product.txt`, `registry-config.inc.j2`, `images/<name>/<version>/` (hard links into
 * the blob store), `operator/deploy/**.yaml`, `ui/**.yaml`, and optionally `manifest.yaml`.
 */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ImageEntry } from '../../../config/content-types.ts';
import { sha256Hex } from '../../../lib/fs/hash.ts';
import { linkOrCopy, replaceDir, stagingPathFor } from '../../../lib/fs/staging.ts';
import { imageLayoutDir } from './images.ts';
import { renderManifestYaml, renderProductTxt, type ProductInfo } from './product.ts';
import {
  renderRegistryConfig,
  type RegistryImage,
  type RegistryInstance,
} from './registry-config.ts';
import { digestHex, parseManifest, type ParsedManifest } from '../../../lib/oci/manifest.ts';
import type { SolutionConfig } from '../config/solution-config.ts';

/** The Jinja variables MetalK8s renders `registry-config.inc.j2` with. */
export const REPOSITORY_VAR = '{{ repository }}';
export const REGISTRY_ROOT_VAR = '{{ registry_root }}';
export const REGISTRY_CONFIG_FILE = 'registry-config.inc.j2';

/** Options for {@link stageSolutionRoot}. */
export interface StageRootOptions {
  readonly solutionDir: string;
  readonly workDir: string;
  readonly config: SolutionConfig;
  /** Files to copy (relative paths, see ship-rules.ts). */
  readonly shipped: readonly string[];
  readonly product: ProductInfo;
  /** The registry config written by the registry-config stage (default: rendered here). */
  readonly registryConfigFile?: string;
}

/** `ui/` manifests get `@VERSION@` and `@REPOSITORY@` replaced, as the 2.4 example did. */
export function substituteUi(text: string, version: string): string {
  return text.replaceAll('@VERSION@', version).replaceAll('@REPOSITORY@', REPOSITORY_VAR);
}

/**
 * The registry entry of the layout `dir` (undefined without a manifest.json): a single image as
 * the reference generator reads it, or a manifest list with the instances found beside it.
 */
export async function registryImageAt(
  dir: string,
  name: string,
  tag: string,
): Promise<RegistryImage | undefined> {
  const bytes = await readFile(path.join(dir, 'manifest.json')).catch(() => undefined);
  if (bytes === undefined) return undefined;
  const image = { name, tag, manifestHex: sha256Hex(bytes) };
  let parsed: ParsedManifest;
  try {
    parsed = parseManifest(bytes);
  } catch {
    return image;
  }
  if (parsed.kind !== 'list') return image;
  const files = new Set(await readdir(dir));
  const instances: RegistryInstance[] = [];
  for (const d of parsed.manifests) {
    const hex = digestHex(d.digest);
    if (files.has(`${hex}.manifest.json`)) instances.push({ hex, mediaType: d.mediaType });
  }
  return { ...image, mediaType: parsed.mediaType, instances };
}

/** Reads the images of a staged `images/` directory for the registry config. */
export async function registryImagesOf(imagesDir: string): Promise<RegistryImage[]> {
  const out: RegistryImage[] = [];
  const names = await readdir(imagesDir).catch(() => []);
  for (const name of names.sort()) {
    for (const tag of (await readdir(path.join(imagesDir, name)).catch(() => [])).sort()) {
      const img = await registryImageAt(path.join(imagesDir, name, tag), name, tag);
      if (img !== undefined) out.push(img);
    }
  }
  return out;
}

/**
 * The images of `images` as {@link registryImagesOf} reads them once staged: one per
 * name/version, sorted by name then version, from their layouts under `workDir`.
 */
export async function registryImagesFor(
  workDir: string,
  images: readonly ImageEntry[],
): Promise<RegistryImage[]> {
  const byKey = new Map(images.map((i) => [`${i.name}\0${i.version}`, i]));
  const order = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  const sorted = [...byKey.values()].sort(
    (a, b) => order(a.name, b.name) || order(a.version, b.version),
  );
  const out: RegistryImage[] = [];
  for (const img of sorted) {
    const r = await registryImageAt(imageLayoutDir(workDir, img), img.name, img.version);
    if (r !== undefined) out.push(r);
  }
  return out;
}

/** The registry config of a list of images whose layouts are under `workDir`. */
export async function registryConfigFor(
  workDir: string,
  images: readonly ImageEntry[],
): Promise<string> {
  return renderRegistryConfig(await registryImagesFor(workDir, images), {
    namePrefix: REPOSITORY_VAR,
    serverRoot: REGISTRY_ROOT_VAR,
  });
}

/** The registry config as `build` writes it for a staged `images/` directory. */
export async function solutionRegistryConfig(imagesDir: string): Promise<string> {
  return renderRegistryConfig(await registryImagesOf(imagesDir), {
    namePrefix: REPOSITORY_VAR,
    serverRoot: REGISTRY_ROOT_VAR,
  });
}

async function linkImages(o: StageRootOptions, staging: string): Promise<void> {
  for (const img of o.config.images) {
    const src = imageLayoutDir(o.workDir, img);
    const dest = path.join(staging, 'images', img.name, img.version);
    await mkdir(dest, { recursive: true });
    for (const f of (await readdir(src)).sort())
      await linkOrCopy(path.join(src, f), path.join(dest, f), { existingOk: true });
  }
}

async function copyShipped(o: StageRootOptions, staging: string): Promise<void> {
  for (const rel of o.shipped) {
    const dest = path.join(staging, rel);
    await mkdir(path.dirname(dest), { recursive: true });
    const text = await readFile(path.join(o.solutionDir, rel), 'utf8');
    await writeFile(dest, rel.startsWith('ui/') ? substituteUi(text, o.config.version) : text, {
      mode: 0o644,
    });
  }
}

/** Writes the whole root; returns its final path (`<workDir>/root`). */
export async function stageSolutionRoot(o: StageRootOptions): Promise<string> {
  const final = path.join(o.workDir, 'root');
  const staging = stagingPathFor(final);
  try {
    await mkdir(path.join(staging, 'images'), { recursive: true });
    await linkImages(o, staging);
    await writeFile(
      path.join(staging, REGISTRY_CONFIG_FILE),
      o.registryConfigFile === undefined
        ? await solutionRegistryConfig(path.join(staging, 'images'))
        : await readFile(o.registryConfigFile),
    );
    await copyShipped(o, staging);
    await writeFile(path.join(staging, 'product.txt'), renderProductTxt(o.product));
    if (o.config.manifestYaml) {
      const manifest = renderManifestYaml({
        product: o.product,
        images: o.config.images,
        ...(o.config.operatorImage !== undefined ? { operatorImage: o.config.operatorImage } : {}),
        ...(o.config.uiImage !== undefined ? { uiImage: o.config.uiImage } : {}),
      });
      await writeFile(path.join(staging, 'manifest.yaml'), manifest);
    }
    await replaceDir(staging, final);
    return final;
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}
