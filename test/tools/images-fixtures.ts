/**
 * Test (and benchmark) images built locally: an OCI image layout written by hand (ustar
 * layers, gzip), pushed to a loopback registry with skopeo. Deterministic unless layers hold
 * random data.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { ustarHeader } from '../../buildchain/lib/ustar.ts';

/** One file inside a layer. */
export interface FixtureFile {
  readonly name: string;
  readonly data: Buffer;
  readonly mode?: number;
}

/** One image of a fixture layout. */
export interface FixtureImage {
  /** Ref name in the OCI layout (e.g. `tiny-1.0`). */
  readonly ref: string;
  /** Layers, each a list of files. Identical layers give identical blobs. */
  readonly layers: readonly (readonly FixtureFile[])[];
  /** Architectures: one gives an image manifest, several an OCI index. Default ['amd64']. */
  readonly architectures?: readonly string[];
  /** gzip level for layers (0 = stored; random data does not compress). Default 6. */
  readonly gzipLevel?: number;
}

/** A minimal ustar archive of regular files (mtime 0, uid/gid 0). */
export function ustar(files: readonly FixtureFile[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of files) {
    const h = ustarHeader(f.name, f.data.length, { mode: f.mode ?? 0o644 });
    parts.push(h, f.data, Buffer.alloc((512 - (f.data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

function digestOf(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

class LayoutWriter {
  private readonly written = new Set<string>();
  constructor(private readonly dir: string) {}

  async blob(
    bytes: Buffer,
    mediaType: string,
  ): Promise<{ mediaType: string; digest: string; size: number }> {
    const digest = digestOf(bytes);
    if (!this.written.has(digest)) {
      this.written.add(digest);
      await writeFile(path.join(this.dir, 'blobs', 'sha256', digest.slice(7)), bytes);
    }
    return { mediaType, digest, size: bytes.length };
  }
}

/** Layers already built, by their files array (shared base layers are built once). */
const layerCache = new WeakMap<readonly FixtureFile[], { gz: Buffer; diffId: string }>();

async function writeImage(
  w: LayoutWriter,
  img: FixtureImage,
  arch: string,
): Promise<{ mediaType: string; digest: string; size: number }> {
  const layers = [];
  const diffIds = [];
  for (const files of img.layers) {
    let built = layerCache.get(files);
    if (built === undefined) {
      const tar = ustar(files);
      built = { gz: gzipSync(tar, { level: img.gzipLevel ?? 6 }), diffId: digestOf(tar) };
      layerCache.set(files, built);
    }
    diffIds.push(built.diffId);
    layers.push(await w.blob(built.gz, 'application/vnd.oci.image.layer.v1.tar+gzip'));
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: arch,
      os: 'linux',
      config: { Cmd: ['/bin/busybox', 'true'], Labels: { ref: img.ref } },
      rootfs: { type: 'layers', diff_ids: diffIds },
    }),
  );
  const cfg = await w.blob(config, 'application/vnd.oci.image.config.v1+json');
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: cfg,
    layers,
  };
  return w.blob(
    Buffer.from(JSON.stringify(manifest)),
    'application/vnd.oci.image.manifest.v1+json',
  );
}

/** Writes an OCI image layout holding `images` (refs are the layout's ref names). */
export async function writeOciLayout(dir: string, images: readonly FixtureImage[]): Promise<void> {
  await mkdir(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const w = new LayoutWriter(dir);
  const entries = [];
  for (const img of images) {
    const archs = img.architectures ?? ['amd64'];
    let desc;
    if (archs.length === 1) {
      desc = await writeImage(w, img, archs[0] ?? 'amd64');
    } else {
      const manifests = [];
      for (const arch of archs)
        manifests.push({
          ...(await writeImage(w, img, arch)),
          platform: { os: 'linux', architecture: arch },
        });
      const index = {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests,
      };
      desc = await w.blob(
        Buffer.from(JSON.stringify(index)),
        'application/vnd.oci.image.index.v1+json',
      );
    }
    entries.push({ ...desc, annotations: { 'org.opencontainers.image.ref.name': img.ref } });
  }
  await writeFile(
    path.join(dir, 'index.json'),
    JSON.stringify({ schemaVersion: 2, manifests: entries }),
  );
}

/** Options for {@link pushImage}. */
export interface PushOptions {
  readonly skopeo?: string;
  /** Convert to Docker v2s2 (lists become Docker manifest lists). */
  readonly v2s2?: boolean;
  /** Push the whole index. */
  readonly all?: boolean;
}

/** Pushes `oci:<layout>:<ref>` to `docker://<dest>` (plain HTTP) and returns the pushed digest. */
export function pushImage(
  layout: string,
  ref: string,
  dest: string,
  opts: PushOptions = {},
): string {
  const argv = ['copy', '-q', '--dest-tls-verify=false'];
  if (opts.v2s2 === true) argv.push('--format', 'v2s2');
  if (opts.all === true) argv.push('--all');
  const out = path.join(layout, `.digest-${ref}`);
  argv.push('--digestfile', out, `oci:${layout}:${ref}`, `docker://${dest}`);
  execFileSync(opts.skopeo ?? 'skopeo', argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  return readFileSync(out, 'utf8').trim();
}

/** Static busybox from Debian's busybox-static, for layers that make a runnable-looking image. */
export const BUSYBOX = '/bin/busybox';
