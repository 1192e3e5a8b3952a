/**
 * Pieces of small Docker v2s2 images for fixtures: the manifest of a config and one gzip layer,
 * and a real layer (a deterministic tar holding `hello.txt`, gzipped) and image that containerd
 * and skopeo can unpack.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { MEDIA_DOCKER_MANIFEST } from '../../buildchain/lib/oci/manifest.ts';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** The v2s2 manifest bytes naming `config` and one gzip `layer` by size and sha256 digest. */
export function dockerManifest(config: Buffer, layer: Buffer): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_DOCKER_MANIFEST,
      config: {
        mediaType: 'application/vnd.docker.container.image.v1+json',
        size: config.length,
        digest: `sha256:${sha256(config)}`,
      },
      layers: [
        {
          mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
          size: layer.length,
          digest: `sha256:${sha256(layer)}`,
        },
      ],
    }),
  );
}

/**
 * A real layer: `hello.txt` = `text` in a tar made by tar(1) (mtime 0, uid/gid 0, so the same
 * text gives the same bytes), and that tar gzipped. `tar` is what the config's diff_id names.
 */
export async function helloLayer(text: string): Promise<{ tar: Buffer; layer: Buffer }> {
  const src = await mkdtemp(path.join(os.tmpdir(), 'hello-layer-'));
  try {
    await writeFile(path.join(src, 'hello.txt'), text);
    const tar = execFileSync('tar', [
      '-C',
      src,
      '--mtime=@0',
      '--owner=0',
      '--group=0',
      '--numeric-owner',
      '-cf',
      '-',
      'hello.txt',
    ]);
    return { tar, layer: gzipSync(tar) };
  } finally {
    await rm(src, { recursive: true, force: true });
  }
}

/** A real one-layer image for `architecture`: {@link helloLayer}, its config (diff_id) and manifest. */
export async function helloImage(
  text: string,
  architecture = 'amd64',
): Promise<{ config: Buffer; layer: Buffer; manifest: Buffer }> {
  const { tar, layer } = await helloLayer(text);
  const config = Buffer.from(
    JSON.stringify({
      architecture,
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(tar)}`] },
    }),
  );
  return { config, layer, manifest: dockerManifest(config, layer) };
}
