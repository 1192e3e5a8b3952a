/**
 * Image content of the site-mirror stand-in (test/helpers/site-stand-in.ts): small v2s2 and
 * OCI images, manifest lists and OCI indexes over two platforms, and a real single-layer base
 * image builders can use.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  MEDIA_DOCKER_LIST,
  MEDIA_DOCKER_MANIFEST,
  MEDIA_OCI_INDEX,
  MEDIA_OCI_MANIFEST,
  sha256Digest,
} from '../../buildchain/lib/oci/manifest.ts';

/** A manifest or blob the stand-in registry serves. */
export interface Served {
  readonly bytes: Buffer;
  readonly mediaType: string;
}

/** One repository: manifests by tag or digest, blobs by digest. */
export interface StandInRepo {
  readonly manifests: Map<string, Served>;
  readonly blobs: Map<string, Buffer>;
}

/** A small image (config + one layer) for `arch`, as Docker v2s2 or OCI. */
export interface StandInImage {
  readonly manifest: Served;
  readonly digest: string;
  readonly blobs: Map<string, Buffer>;
}

export function makeImage(name: string, arch: string, format: 'docker' | 'oci'): StandInImage {
  const config = Buffer.from(JSON.stringify({ architecture: arch, os: 'linux', name }));
  const layer = Buffer.from(`layer of ${name} for ${arch}\n`);
  const docker = format === 'docker';
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: docker ? MEDIA_DOCKER_MANIFEST : MEDIA_OCI_MANIFEST,
      config: {
        mediaType: docker
          ? 'application/vnd.docker.container.image.v1+json'
          : 'application/vnd.oci.image.config.v1+json',
        digest: sha256Digest(config),
        size: config.length,
      },
      layers: [
        {
          mediaType: docker
            ? 'application/vnd.docker.image.rootfs.diff.tar.gzip'
            : 'application/vnd.oci.image.layer.v1.tar+gzip',
          digest: sha256Digest(layer),
          size: layer.length,
        },
      ],
    }),
  );
  return {
    manifest: { bytes, mediaType: docker ? MEDIA_DOCKER_MANIFEST : MEDIA_OCI_MANIFEST },
    digest: sha256Digest(bytes),
    blobs: new Map([
      [sha256Digest(config), config],
      [sha256Digest(layer), layer],
    ]),
  };
}

/**
 * A real single-layer linux/amd64 image (a gzipped tar holding `hello.txt`, with its diff_id in
 * the config) that builders can use as a base image.
 */
export function makeBaseImage(dir: string): StandInImage {
  mkdirSync(path.join(dir, 'rootfs'), { recursive: true });
  writeFileSync(path.join(dir, 'rootfs', 'hello.txt'), 'hello from the base image\n');
  const tarPath = path.join(dir, 'layer.tar');
  execFileSync('tar', [
    '--owner=0',
    '--group=0',
    '-cf',
    tarPath,
    '-C',
    path.join(dir, 'rootfs'),
    'hello.txt',
  ]);
  const tar = readFileSync(tarPath);
  const layer = gzipSync(tar);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/usr/bin:/bin'] },
      rootfs: { type: 'layers', diff_ids: [sha256Digest(tar)] },
    }),
  );
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_DOCKER_MANIFEST,
      config: {
        mediaType: 'application/vnd.docker.container.image.v1+json',
        digest: sha256Digest(config),
        size: config.length,
      },
      layers: [
        {
          mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
          digest: sha256Digest(layer),
          size: layer.length,
        },
      ],
    }),
  );
  return {
    manifest: { bytes, mediaType: MEDIA_DOCKER_MANIFEST },
    digest: sha256Digest(bytes),
    blobs: new Map([
      [sha256Digest(config), config],
      [sha256Digest(layer), layer],
    ]),
  };
}

/** A manifest list (docker) or OCI index over amd64 and arm64 images, all in one repository. */
export function makeMultiArch(
  name: string,
  format: 'docker' | 'oci',
): {
  repo: StandInRepo;
  digest: string;
  children: { amd64: StandInImage; arm64: StandInImage };
} {
  const children = {
    amd64: makeImage(name, 'amd64', format),
    arm64: makeImage(name, 'arm64', format),
  };
  const mediaType = format === 'docker' ? MEDIA_DOCKER_LIST : MEDIA_OCI_INDEX;
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      manifests: Object.entries(children).map(([arch, img]) => ({
        mediaType: img.manifest.mediaType,
        digest: img.digest,
        size: img.manifest.bytes.length,
        platform: { architecture: arch, os: 'linux' },
      })),
    }),
  );
  const digest = sha256Digest(bytes);
  const repo: StandInRepo = {
    manifests: new Map([[digest, { bytes, mediaType }]]),
    blobs: new Map(),
  };
  for (const img of Object.values(children)) {
    repo.manifests.set(img.digest, img.manifest);
    for (const [d, b] of img.blobs) repo.blobs.set(d, b);
  }
  return { repo, digest, children };
}

/** A repository holding one image under `tag` and its digest. */
export function repoOf(image: StandInImage, tag: string): StandInRepo {
  return {
    manifests: new Map([
      [tag, image.manifest],
      [image.digest, image.manifest],
    ]),
    blobs: new Map(image.blobs),
  };
}
