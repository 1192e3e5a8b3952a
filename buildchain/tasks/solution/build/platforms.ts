/**
 * Multi-arch images of a Solution (`platforms:` of a remote image): skopeo copies the pinned
 * index alone (`--multi-arch index-only`), then each chosen instance by digest as a v2s2 image
 * (only those platforms' blobs are fetched; build attestations are never copied). The layout
 * holds a Docker manifest list of exactly those instances (the source bytes when nothing
 * changed), each as `<hex>.manifest.json`, and their blobs; registry-config.ts serves the list
 * as the tag's manifest and every instance by digest.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { TaskError } from '../../../engine/task.ts';
import type { BlobStore } from '../../../media/images/blob-store.ts';
import { materialiseLayout } from '../../../media/images/layout.ts';
import {
  digestHex,
  MEDIA_DOCKER_LIST,
  MEDIA_DOCKER_MANIFEST,
  parseManifest,
  sha256Digest,
  type Descriptor,
} from '../../../lib/oci/manifest.ts';

/** `os/arch[/variant]` of a descriptor (`?` for what it does not say). */
export function platformOf(d: Descriptor): string {
  const p = d.platform;
  const base = `${p?.os ?? '?'}/${p?.architecture ?? '?'}`;
  return p?.variant === undefined || p.variant === '' ? base : `${base}/${p.variant}`;
}

/** True when `d` is the platform `want` (`os/arch` matches every variant of that arch). */
export function matchesPlatform(d: Descriptor, want: string): boolean {
  const [os, arch, variant] = want.split('/');
  const p = d.platform ?? {};
  return p.os === os && p.architecture === arch && (variant === undefined || p.variant === variant);
}

/**
 * The instances of `manifests` to keep for `keep`; throws `invalid-input` naming the first
 * platform the index does not have, and what it has.
 */
export function selectInstances(
  manifests: readonly Descriptor[],
  keep: 'all' | readonly string[],
  what: string,
): Descriptor[] {
  if (keep === 'all') return [...manifests];
  for (const want of keep) {
    if (!manifests.some((m) => matchesPlatform(m, want))) {
      throw new TaskError(
        'invalid-input',
        `${what}: platform ${want} is not in the source index (it has ${manifests.map(platformOf).join(', ') || 'none'})`,
        {
          hint: 'remove it from platforms in solution.yaml, or pin a digest of an index that has it',
        },
      );
    }
  }
  return manifests.filter((m) => keep.some((want) => matchesPlatform(m, want)));
}

/** A platform instance as copied: the source descriptor and its v2s2 manifest's. */
export interface CopiedInstance {
  readonly source: Descriptor;
  readonly copied: Descriptor;
}

/**
 * The manifest list served for the kept instances: the source bytes when nothing changed (all
 * instances kept, none converted, already a Docker list: `all` then serves the pinned digest),
 * else a Docker manifest list of the copied v2s2 instances, in the source order.
 */
export function listFor(
  source: Buffer,
  sourceType: string,
  instances: readonly CopiedInstance[],
  total: number,
): Buffer {
  const unchanged =
    sourceType === MEDIA_DOCKER_LIST &&
    instances.length === total &&
    instances.every((i) => i.copied.digest === i.source.digest);
  if (unchanged) return source;
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_DOCKER_LIST,
      manifests: instances.map((i) => ({
        mediaType: i.copied.mediaType,
        size: i.copied.size,
        digest: i.copied.digest,
        ...(i.source.platform !== undefined ? { platform: i.source.platform } : {}),
      })),
    }),
  );
}

/** Entries of an index that are not images to run (buildkit attestations: `unknown/unknown`). */
function isAttestation(d: Descriptor): boolean {
  return d.platform?.os === 'unknown' || d.platform?.architecture === 'unknown';
}

/** Options for {@link adoptIndexLayout}. */
export interface AdoptIndexOptions {
  /** The bytes of the pinned manifest (an index, or a single image's manifest). */
  readonly index: Buffer;
  /** The pinned digest. */
  readonly digest: string;
  readonly keep: 'all' | readonly string[];
  /** Copies the manifest `digest` of the source as a v2s2 image into the new directory `dir`. */
  readonly copyInstance: (digest: string, dir: string) => Promise<void>;
  /** A directory for the copies (the caller removes it). */
  readonly scratch: string;
  readonly store: BlobStore;
  readonly dest: string;
  /** `image NAME:VERSION`, for messages. */
  readonly what: string;
}

/** The platform of a single image manifest, from its config blob, as a descriptor. */
async function singlePlatform(dir: string, config: Descriptor): Promise<Descriptor> {
  const bytes = await readFile(path.join(dir, digestHex(config.digest))).catch(() => undefined);
  let c: { os?: unknown; architecture?: unknown; variant?: unknown } = {};
  try {
    c = JSON.parse(bytes?.toString('utf8') ?? '{}') as typeof c;
  } catch {
    // not JSON: an unknown platform
  }
  const s = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const variant = s(c.variant);
  return {
    ...config,
    platform: {
      ...(s(c.os) !== undefined ? { os: s(c.os) } : {}),
      ...(s(c.architecture) !== undefined ? { architecture: s(c.architecture) } : {}),
      ...(variant !== undefined ? { variant } : {}),
    },
  };
}

/** Copies one manifest and reads it back: its bytes, parsed blobs and the blob files. */
async function copyOne(
  o: AdoptIndexOptions,
  digest: string,
  dir: string,
): Promise<{ bytes: Buffer; blobs: readonly Descriptor[]; mediaType: string }> {
  await o.copyInstance(digest, dir);
  const bytes = await readFile(path.join(dir, 'manifest.json'));
  const parsed = parseManifest(bytes);
  if (parsed.kind !== 'image')
    throw new TaskError('invalid-input', `${o.what}: ${digest} is a nested index`, {
      hint: 'pin an index whose entries are images',
    });
  const files = new Set(await readdir(dir));
  for (const d of parsed.blobs) {
    if (!files.has(digestHex(d.digest)))
      throw new TaskError('target-not-produced', `${o.what}: blob ${d.digest} was not copied`);
  }
  return { bytes, blobs: parsed.blobs, mediaType: parsed.mediaType };
}

/**
 * Copies the kept instances of the pinned index (only those: no other platform's blob is
 * fetched), moves their blobs into the store and materialises the layout at `dest` with the
 * list as `manifest.json`. A single image (not an index) is accepted when `keep` is `all` or
 * names its own platform. `all` keeps every instance but build attestations.
 */
export async function adoptIndexLayout(o: AdoptIndexOptions): Promise<{ platforms: string[] }> {
  const parsed = parseManifest(o.index);
  const blobFiles = new Map<string, string>();
  const collect = (dir: string, blobs: readonly Descriptor[]): void => {
    for (const d of blobs)
      if (!blobFiles.has(d.digest)) blobFiles.set(d.digest, path.join(dir, digestHex(d.digest)));
  };
  if (parsed.kind === 'image') {
    const dir = path.join(o.scratch, 'image');
    const one = await copyOne(o, o.digest, dir);
    const own = await singlePlatform(dir, one.blobs[0] as Descriptor);
    if (o.keep !== 'all' && (o.keep.length !== 1 || !matchesPlatform(own, o.keep[0] ?? ''))) {
      throw new TaskError(
        'invalid-input',
        `${o.what}: the source is a single ${platformOf(own)} image, not an index: platforms ${o.keep.join(', ')} cannot be kept`,
        { hint: `remove platforms from this image, or pin the digest of a multi-arch index` },
      );
    }
    collect(dir, one.blobs);
    await adopt(o, one.bytes, [], blobFiles);
    return { platforms: [platformOf(own)] };
  }
  const runnable = parsed.manifests.filter((m) => !isAttestation(m));
  const kept = selectInstances(runnable, o.keep, o.what);
  const copied: CopiedInstance[] = [];
  const instances: { digest: string; bytes: Buffer }[] = [];
  for (const [i, d] of kept.entries()) {
    const dir = path.join(o.scratch, String(i));
    const one = await copyOne(o, d.digest, dir);
    if (one.mediaType !== MEDIA_DOCKER_MANIFEST)
      throw new TaskError(
        'invalid-input',
        `${o.what}: the ${platformOf(d)} image could not be converted to a v2s2 manifest (${one.mediaType})`,
        { hint: 'MetalK8s serves Docker v2s2 images only; pick an image whose layers convert' },
      );
    const digest = sha256Digest(one.bytes);
    collect(dir, one.blobs);
    copied.push({
      source: d,
      copied: { mediaType: one.mediaType, digest, size: one.bytes.length },
    });
    instances.push({ digest, bytes: one.bytes });
  }
  const list = listFor(o.index, parsed.mediaType, copied, parsed.manifests.length);
  await adopt(o, list, instances, blobFiles);
  return { platforms: kept.map(platformOf) };
}

async function adopt(
  o: AdoptIndexOptions,
  manifest: Buffer,
  instances: readonly { digest: string; bytes: Buffer }[],
  blobs: ReadonlyMap<string, string>,
): Promise<void> {
  const stored: string[] = [];
  for (const [digest, file] of blobs) stored.push(await o.store.adopt(file, digest));
  await materialiseLayout({ dest: o.dest, manifest, instances, blobs: stored });
}
