/**
 * Pulls one image by digest into the blob store and materialises its `dir:` layout.
 * The manifest's sha256 is checked against the pinned digest, each blob's while it streams.
 */
import { TaskError } from '../../engine/task.ts';
import type { BlobStore } from '../../media/images/blob-store.ts';
import { materialiseLayout } from '../../media/images/layout.ts';
import { parseManifest, selectPlatform, sha256Digest, type Descriptor, type ParsedManifest } from '../../lib/oci/manifest.ts';
import type { RegistryClient } from './registry-client.ts';

/**
 * What a pull needs of a registry client: a {@link RegistryClient}, or one standing for it that
 * reaches the registry on first use (`blobSource` undefined until then).
 */
export interface PullClient {
  getManifest: RegistryClient['getManifest'];
  getBlob: RegistryClient['getBlob'];
  blobSource(repository: string): { host: string; repository: string } | undefined;
}

/** Options for {@link pullImage}. */
export interface PullImageOptions {
  readonly client: PullClient;
  /**
   * The bytes of a manifest by digest when held locally (the embedded mirror's storage): no
   * request then. Checked against the digest like a fetched one.
   */
  readonly storedManifest?: (digest: string) => Promise<Buffer | undefined>;
  /** Repository on the upstream registry (the mirror prefix is applied by the client). */
  readonly repository: string;
  /** `sha256:...` (verified) or a tag (only for unpinned images). */
  readonly reference: string;
  /** `linux/amd64` keeps one platform of a list/index; `all` keeps the whole list. */
  readonly platforms: 'linux/amd64' | 'all';
  readonly store: BlobStore;
  /** Layout directory to (re)create, e.g. `<isoRoot>/images/<name>/<version>`. */
  readonly dest: string;
  /** Names the image in messages, e.g. `calico-node:v3.8.2`. */
  readonly what: string;
  /** Called as blobs become available (fetched or already in the store). */
  readonly onProgress?: (done: number, total: number, message: string) => void;
}

/** What {@link pullImage} produced. */
export interface PullImageResult {
  /** Digest of the manifest fetched by `reference` (the pinned digest when pulling by digest). */
  readonly digest: string;
  /** Digest of the layout's `manifest.json` (the amd64 instance when a list was narrowed). */
  readonly layoutDigest: string;
  readonly mediaType: string;
  /** Blob bytes referenced by the layout (config + layers, all instances). */
  readonly blobBytes: number;
}

interface FetchedManifest {
  readonly bytes: Buffer;
  readonly digest: string;
  readonly parsed: ParsedManifest;
}

async function fetchManifest(opts: PullImageOptions, reference: string): Promise<FetchedManifest> {
  const stored = reference.startsWith('sha256:') ? await opts.storedManifest?.(reference) : undefined;
  // A stored manifest has no Content-Type: its own mediaType field names it.
  const { bytes, contentType } =
    stored !== undefined ? { bytes: stored, contentType: '' } : await opts.client.getManifest(opts.repository, reference);
  const digest = sha256Digest(bytes);
  if (reference.startsWith('sha256:') && digest !== reference) {
    throw new TaskError(
      'digest-mismatch',
      stored !== undefined
        ? `${opts.what}: manifest digest mismatch: expected ${reference}, the mirror's storage holds ${digest}`
        : `${opts.what}: manifest digest mismatch: expected ${reference}, registry served ${digest}`,
      {
        hint:
          stored !== undefined
            ? "the embedded mirror's stored content is damaged: `./doit.sh clean mirror:seed` removes it, the next build seeds it again"
            : 'the registry or mirror serves different content for this digest; check REGISTRY_MIRRORS',
      },
    );
  }
  let parsed: ParsedManifest;
  try {
    parsed = parseManifest(bytes, contentType);
  } catch (err) {
    throw new TaskError('invalid-input', `${opts.what}: bad manifest ${digest}: ${(err as Error).message}`, {
      hint: 'only Docker v2s2 / manifest lists and OCI manifests / indexes are supported',
    });
  }
  return { bytes, digest, parsed };
}

function imageBlobs(m: FetchedManifest, what: string): readonly Descriptor[] {
  if (m.parsed.kind !== 'image') {
    throw new TaskError('invalid-input', `${what}: ${m.digest} is a nested list, not an image manifest`);
  }
  return m.parsed.blobs;
}

/** Pulls an image (see {@link PullImageOptions}); leaves nothing at `dest` on failure. */
export async function pullImage(opts: PullImageOptions): Promise<PullImageResult> {
  const top = await fetchManifest(opts, opts.reference);
  let layoutManifest = top;
  const instances: FetchedManifest[] = [];
  if (top.parsed.kind === 'list') {
    if (opts.platforms === 'all') {
      for (const child of top.parsed.manifests) instances.push(await fetchManifest(opts, child.digest));
    } else {
      const child = selectPlatform(top.parsed.manifests);
      if (child === undefined) {
        const have = top.parsed.manifests.map((m) => `${m.platform?.os ?? '?'}/${m.platform?.architecture ?? '?'}`);
        throw new TaskError('invalid-input', `${opts.what}: no linux/amd64 image in ${top.digest} (has ${have.join(', ')})`, {
          hint: 'pick another version, or set "platforms: all" to ship the whole list',
        });
      }
      layoutManifest = await fetchManifest(opts, child.digest);
    }
  }
  const descriptors = new Map<string, Descriptor>();
  for (const m of instances.length > 0 ? instances : [layoutManifest]) {
    for (const d of imageBlobs(m, opts.what)) descriptors.set(d.digest, d);
  }
  let ready = 0;
  // Named so that a build cache on the same registry mounts these blobs instead of uploading.
  const source = (): { host: string; repository: string } | undefined => opts.client.blobSource(opts.repository);
  // Every download settles before a failure is reported: none is left writing a temp file
  // behind a failed task.
  const settled = await Promise.allSettled(
    [...descriptors.values()].map(async (d) => {
      const blob = await opts.store.ensure(
        d.digest,
        d.size,
        () => opts.client.getBlob(opts.repository, d.digest),
        opts.what,
        source,
      );
      opts.onProgress?.(++ready, descriptors.size, `blob ${d.digest.slice(7, 19)}`);
      return blob;
    }),
  );
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  const blobs = settled.map((r) => (r.status === 'fulfilled' ? r.value : ''));
  await materialiseLayout({
    dest: opts.dest,
    manifest: layoutManifest.bytes,
    instances: instances.map((i) => ({ digest: i.digest, bytes: i.bytes })),
    blobs,
  });
  let blobBytes = 0;
  for (const d of descriptors.values()) blobBytes += d.size;
  return { digest: top.digest, layoutDigest: layoutManifest.digest, mediaType: layoutManifest.parsed.mediaType, blobBytes };
}
