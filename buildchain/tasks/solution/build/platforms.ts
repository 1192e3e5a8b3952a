/**
 * Multi-arch images of a Solution (`platforms:` of a remote image): skopeo copies the whole
 * index (`--all --format v2s2`: a Docker manifest list of v2s2 instances, `<hex>.manifest.json`
 * each), then exactly the chosen instances are kept: the list is narrowed to them (its bytes are
 * kept as they are when every instance is), and only their blobs go to the blob store and the
 * layout. The list is the tag's manifest (registry-config.ts serves it and its instances).
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { TaskError } from '../../../engine/task.ts';
import type { BlobStore } from '../../../media/images/blob-store.ts';
import { materialiseLayout } from '../../../media/images/layout.ts';
import {
  digestHex,
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

/**
 * The list's bytes with only `kept` (in the source order): the source bytes when nothing was
 * dropped, so that `all` serves the pinned index digest unchanged.
 */
export function narrowList(bytes: Buffer, kept: readonly Descriptor[], total: number): Buffer {
  if (kept.length === total) return bytes;
  const doc = JSON.parse(bytes.toString('utf8')) as { manifests: { digest: string }[] };
  const keep = new Set(kept.map((k) => k.digest));
  doc.manifests = doc.manifests.filter((m) => keep.has(m.digest));
  return Buffer.from(JSON.stringify(doc));
}

/** Options for {@link adoptIndexLayout}. */
export interface AdoptIndexOptions {
  /** A skopeo `dir:` copied with `--all`. */
  readonly dir: string;
  readonly keep: 'all' | readonly string[];
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

/**
 * Moves the kept instances of the index copied in `dir` into the store and materialises the
 * layout at `dest`. A single image (not an index) is accepted when `keep` is `all` or names its
 * own platform.
 */
export async function adoptIndexLayout(o: AdoptIndexOptions): Promise<{ platforms: string[] }> {
  const top = await readFile(path.join(o.dir, 'manifest.json'));
  const parsed = parseManifest(top);
  const files = new Set(await readdir(o.dir));
  const blobs = new Map<string, string>();
  const addBlobs = (list: readonly Descriptor[]): void => {
    for (const d of list) {
      const hex = digestHex(d.digest);
      if (!files.has(hex))
        throw new TaskError('target-not-produced', `${o.what}: blob ${d.digest} was not copied`);
      blobs.set(d.digest, path.join(o.dir, hex));
    }
  };
  if (parsed.kind === 'image') {
    const own = await singlePlatform(o.dir, parsed.blobs[0] as Descriptor);
    if (o.keep !== 'all' && (o.keep.length !== 1 || !matchesPlatform(own, o.keep[0] ?? ''))) {
      throw new TaskError(
        'invalid-input',
        `${o.what}: the source is a single ${platformOf(own)} image, not an index: platforms ${o.keep.join(', ')} cannot be kept`,
        { hint: `remove platforms from this image, or pin the digest of a multi-arch index` },
      );
    }
    addBlobs(parsed.blobs);
    await adopt(o, top, [], blobs);
    return { platforms: [platformOf(own)] };
  }
  const kept = selectInstances(parsed.manifests, o.keep, o.what);
  const instances: { digest: string; bytes: Buffer }[] = [];
  for (const d of kept) {
    const file = `${digestHex(d.digest)}.manifest.json`;
    const bytes = await readFile(path.join(o.dir, file)).catch(() => undefined);
    if (bytes === undefined || sha256Digest(bytes) !== d.digest)
      throw new TaskError(
        'target-not-produced',
        `${o.what}: the ${platformOf(d)} manifest ${d.digest} was not copied intact`,
        { hint: 'run the build again; check the registry or mirror serving this image' },
      );
    const child = parseManifest(bytes, d.mediaType);
    if (child.kind !== 'image')
      throw new TaskError('invalid-input', `${o.what}: ${d.digest} is a nested index`, {
        hint: 'pin an index whose entries are images',
      });
    addBlobs(child.blobs);
    instances.push({ digest: d.digest, bytes });
  }
  await adopt(o, narrowList(top, kept, parsed.manifests.length), instances, blobs);
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
