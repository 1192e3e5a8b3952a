/**
 * Manifest media types and parsing (pure): Docker v2s2 manifests and manifest lists, OCI
 * manifests and indexes. Used by the puller and by the static registry generator.
 */

export const MEDIA_DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const MEDIA_DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const MEDIA_OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MEDIA_OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

/** Largest manifest accepted (bytes), as registries limit it (the distribution spec's 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/** Accept header for manifest requests (v2s2 first, as MetalK8s expects). */
export const MANIFEST_ACCEPT = [
  MEDIA_DOCKER_MANIFEST,
  MEDIA_DOCKER_LIST,
  MEDIA_OCI_MANIFEST,
  MEDIA_OCI_INDEX,
].join(', ');

/** A content descriptor (config, layer or child manifest). */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  /** Bytes. */
  readonly size: number;
  readonly platform?: {
    readonly os?: string;
    readonly architecture?: string;
    readonly variant?: string;
  };
}

/** A parsed manifest: either an image (config + layers) or a list/index (children). */
export type ParsedManifest =
  | { readonly kind: 'image'; readonly mediaType: string; readonly blobs: readonly Descriptor[] }
  | {
      readonly kind: 'list';
      readonly mediaType: string;
      readonly manifests: readonly Descriptor[];
    };

/** `sha256:<hex>` of bytes (the one sha256 lives in lib/fs/hash.ts). */
export { sha256Digest } from '../fs/hash.ts';

/** The hex part of a `sha256:` digest. */
export function digestHex(digest: string): string {
  return digest.slice('sha256:'.length);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

function descriptor(v: unknown, what: string): Descriptor {
  if (
    !isRecord(v) ||
    typeof v.digest !== 'string' ||
    !DIGEST.test(v.digest) ||
    typeof v.size !== 'number'
  ) {
    throw new Error(`${what}: not a descriptor with a sha256 digest and a size`);
  }
  const platform = isRecord(v.platform) ? (v.platform as Descriptor['platform']) : undefined;
  return {
    mediaType: typeof v.mediaType === 'string' ? v.mediaType : '',
    digest: v.digest,
    size: v.size,
    ...(platform !== undefined ? { platform } : {}),
  };
}

/**
 * Parses manifest bytes. `contentType` (from the registry) is used when the body has no
 * `mediaType` (umoci writes OCI manifests without one). Throws an Error on anything else
 * (schema1, malformed JSON, non-sha256 digests).
 */
export function parseManifest(bytes: Uint8Array, contentType?: string): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new Error('manifest is not valid JSON');
  }
  if (!isRecord(doc) || doc.schemaVersion !== 2) throw new Error('manifest is not schemaVersion 2');
  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  const header = contentType?.split(';')[0]?.trim();
  let mediaType =
    declared ??
    (header !== undefined && header !== '' && header !== 'application/json' ? header : '');
  if (mediaType === '')
    mediaType = Array.isArray(doc.manifests) ? MEDIA_OCI_INDEX : MEDIA_OCI_MANIFEST;
  if (mediaType === MEDIA_DOCKER_LIST || mediaType === MEDIA_OCI_INDEX) {
    if (!Array.isArray(doc.manifests)) throw new Error(`${mediaType} without a "manifests" list`);
    const manifests = doc.manifests.map((m: unknown, i) => descriptor(m, `manifests[${i}]`));
    return { kind: 'list', mediaType, manifests };
  }
  if (mediaType === MEDIA_DOCKER_MANIFEST || mediaType === MEDIA_OCI_MANIFEST) {
    if (!Array.isArray(doc.layers)) throw new Error(`${mediaType} without a "layers" list`);
    const blobs = [
      descriptor(doc.config, 'config'),
      ...doc.layers.map((l: unknown, i) => descriptor(l, `layers[${i}]`)),
    ];
    return { kind: 'image', mediaType, blobs };
  }
  throw new Error(`unsupported manifest media type ${mediaType}`);
}

/** The child manifest for `os/arch` in a list/index, or undefined. */
export function selectPlatform(
  manifests: readonly Descriptor[],
  os = 'linux',
  architecture = 'amd64',
): Descriptor | undefined {
  return manifests.find((m) => m.platform?.os === os && m.platform.architecture === architecture);
}
