/**
 * Stand-in container images, built in memory with fixed bytes: one gzip'd tar layer holding a
 * file that names the image, a config JSON and a Docker v2s2 manifest (or a manifest list for
 * multi-platform entries). The same reference always gives the same bytes, on any machine and
 * with any zlib: the gzip stream uses stored (uncompressed) deflate blocks.
 */
import { crc32 } from 'node:zlib';
import { sha256Digest } from '../../lib/fs/hash.ts';
import type { ScaleLayer } from '../../config/stand-in-scale.ts';
import { ustarHeader } from '../../lib/ustar.ts';
import type { GeneratedLayer } from './scale-content.ts';

export const MEDIA_TYPE_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const MEDIA_TYPE_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const MEDIA_TYPE_CONFIG = 'application/vnd.docker.container.image.v1+json';
export const MEDIA_TYPE_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

/** Bump when the bytes produced here change (part of the seed stamp and task labels). */
export const STAND_IN_IMAGE_FORMAT = 1;

/** What a stand-in image imitates: an upstream `registry/repository:tag`. */
export interface StandInImageRef {
  /** Upstream registry host, e.g. `quay.io`. */
  readonly registry: string;
  /** Repository on that registry, e.g. `calico/node`. */
  readonly repository: string;
  readonly tag: string;
  /** `all`: a manifest list with linux/amd64 and linux/arm64 images. */
  readonly platforms: 'linux/amd64' | 'all';
  /** Release scale: the layers after the stand-in's own (see config/stand-in-scale.ts). */
  readonly layers?: readonly ScaleLayer[];
}

/** A content-addressed blob. */
export interface Blob {
  /** `sha256:<hex>` of `data`. */
  readonly digest: string;
  readonly mediaType: string;
  readonly data: Buffer;
}

/** A blob whose bytes are in a file (release-scale layers, generated on disk). */
export interface FileBlob {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  readonly file: string;
}

/** Extra layers of a release-scale stand-in, per architecture. */
export interface ScaledLayers {
  readonly amd64: readonly GeneratedLayer[];
  readonly arm64?: readonly GeneratedLayer[];
}

/** A stand-in image: every blob to store and the top-level manifest to tag. */
export interface StandInImage {
  readonly ref: StandInImageRef;
  /** The manifest (or manifest list) the tag points to; its digest is what pulls use. */
  readonly top: Blob;
  /** Child manifests of a manifest list (empty for a single manifest). */
  readonly childManifests: readonly Blob[];
  /** Configs and layers. */
  readonly blobs: readonly Blob[];
  /** Release-scale layers, on disk. */
  readonly fileBlobs?: readonly FileBlob[];
}

function blob(mediaType: string, data: Buffer): Blob {
  return { digest: sha256Digest(data), mediaType, data };
}

/** A one-file ustar archive with owner 0:0, mode 0644 and mtime 0. */
export function tarOneFile(name: string, content: Buffer): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar member name too long: ${name}`);
  const header = ustarHeader(name, content.length);
  const padding = Buffer.alloc((512 - (content.length % 512)) % 512, 0);
  return Buffer.concat([header, content, padding, Buffer.alloc(1024, 0)]);
}

/** gzip with stored deflate blocks and a zero header mtime: identical bytes everywhere. */
export function gzipStored(data: Buffer): Buffer {
  const header = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);
  const parts: Buffer[] = [header];
  let offset = 0;
  do {
    const chunk = data.subarray(offset, offset + 0xffff);
    offset += chunk.length;
    const head = Buffer.alloc(5);
    head.writeUInt8(offset >= data.length ? 1 : 0, 0);
    head.writeUInt16LE(chunk.length, 1);
    head.writeUInt16LE(~chunk.length & 0xffff, 3);
    parts.push(head, chunk);
  } while (offset < data.length);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(data) >>> 0, 0);
  trailer.writeUInt32LE(data.length % 2 ** 32, 4);
  parts.push(trailer);
  return Buffer.concat(parts);
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value, null, 2));
}

function platformImage(
  ref: StandInImageRef,
  arch: string,
  extra: readonly GeneratedLayer[] = [],
): { manifest: Blob; blobs: Blob[]; files: FileBlob[] } {
  const text =
    `stand-in for ${ref.registry}/${ref.repository}:${ref.tag} (${arch})\n` +
    'Built by the metalk8s-buildchain embedded mirror; not the real image.\n';
  const tar = tarOneFile('stand-in-image.txt', Buffer.from(text));
  const layer = blob(MEDIA_TYPE_LAYER, gzipStored(tar));
  const config = blob(
    MEDIA_TYPE_CONFIG,
    json({
      architecture: arch,
      os: 'linux',
      created: '1970-01-01T00:00:00Z',
      config: {
        Cmd: ['/stand-in-image.txt'],
        Labels: { 'org.metalk8s.stand-in': `${ref.registry}/${ref.repository}:${ref.tag}` },
      },
      rootfs: { type: 'layers', diff_ids: [sha256Digest(tar), ...extra.map((l) => l.diffId)] },
      history: [{ created: '1970-01-01T00:00:00Z', created_by: 'metalk8s-buildchain stand-in' }],
    }),
  );
  const manifest = blob(
    MEDIA_TYPE_MANIFEST,
    json({
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_MANIFEST,
      config: { mediaType: config.mediaType, size: config.data.length, digest: config.digest },
      layers: [
        { mediaType: layer.mediaType, size: layer.data.length, digest: layer.digest },
        ...extra.map((l) => ({ mediaType: MEDIA_TYPE_LAYER, size: l.size, digest: l.digest })),
      ],
    }),
  );
  const files = extra.map((l) => ({
    digest: l.digest,
    mediaType: MEDIA_TYPE_LAYER,
    size: l.size,
    file: l.file,
  }));
  return { manifest, blobs: [config, layer], files };
}

/** Builds the stand-in for one upstream image reference. Pure and deterministic. */
export function buildStandInImage(ref: StandInImageRef, scaled?: ScaledLayers): StandInImage {
  if (ref.platforms === 'linux/amd64') {
    const { manifest, blobs, files } = platformImage(ref, 'amd64', scaled?.amd64);
    return { ref, top: manifest, childManifests: [], blobs, fileBlobs: files };
  }
  const archs = ['amd64', 'arm64'];
  const images = archs.map((arch) => ({
    arch,
    ...platformImage(ref, arch, arch === 'amd64' ? scaled?.amd64 : scaled?.arm64),
  }));
  const list = blob(
    MEDIA_TYPE_MANIFEST_LIST,
    json({
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_MANIFEST_LIST,
      manifests: images.map((i) => ({
        mediaType: MEDIA_TYPE_MANIFEST,
        size: i.manifest.data.length,
        digest: i.manifest.digest,
        platform: { architecture: i.arch, os: 'linux' },
      })),
    }),
  );
  return {
    ref,
    top: list,
    childManifests: images.map((i) => i.manifest),
    blobs: images.flatMap((i) => i.blobs),
    fileBlobs: images.flatMap((i) => i.files),
  };
}
