/**
 * The stat-only checks behind the images tasks' up-to-date state, on real files: layout
 * completeness (every blob the manifest names, with its size) and the dedup inode snapshot.
 */
import { mkdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dedupTree, inodeSnapshot, snapshotChanges } from '../../buildchain/tasks/images/dedup.ts';
import { layoutProblem } from '../../buildchain/tasks/images/layout-check.ts';
import { DIR_TRANSPORT_VERSION } from '../../buildchain/media/images/layout.ts';
import {
  MEDIA_DOCKER_LIST,
  MEDIA_DOCKER_MANIFEST,
  sha256Digest,
} from '../../buildchain/lib/oci/manifest.ts';
import { dockerManifest } from '../helpers/docker-image.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const hex = (digest: string): string => digest.slice('sha256:'.length);

/** Writes an image layout (config + one layer) in `dir`; returns its manifest bytes and blob digests. */
async function writeImage(
  dir: string,
  tag: string,
): Promise<{ manifest: Buffer; blobs: string[] }> {
  await mkdir(dir, { recursive: true });
  const config = Buffer.from(`{"config":"${tag}"}`);
  const layer = Buffer.from(`layer of ${tag}`);
  const blobs = [sha256Digest(config), sha256Digest(layer)];
  await writeFile(path.join(dir, hex(blobs[0] ?? '')), config);
  await writeFile(path.join(dir, hex(blobs[1] ?? '')), layer);
  const manifest = dockerManifest(config, layer);
  await writeFile(path.join(dir, 'manifest.json'), manifest);
  await writeFile(path.join(dir, 'version'), DIR_TRANSPORT_VERSION);
  return { manifest, blobs };
}

describe('layout and dedup checks on real files', () => {
  let tmp: TempDir;

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-images-check-');
  });

  afterAll(async () => {
    await tmp.cleanup();
  });

  it('a complete layout has no problem; a deleted or truncated blob is named', async () => {
    const dir = path.join(tmp.path, 'single', 'img', '1.0');
    const { blobs } = await writeImage(dir, 'single');
    expect(layoutProblem(dir)).toBeUndefined();
    const layer = hex(blobs[1] ?? '');
    await truncate(path.join(dir, layer), 3);
    expect(layoutProblem(dir)).toMatch(
      new RegExp(`^${layer} has 3 bytes, the manifest says \\d+$`),
    );
    await rm(path.join(dir, layer));
    expect(layoutProblem(dir)).toBe(`${layer} (${blobs[1] ?? ''}) is missing`);
  });

  it('a missing version file or manifest, or a malformed manifest, is named', async () => {
    const dir = path.join(tmp.path, 'meta', 'img', '1.0');
    await writeImage(dir, 'meta');
    await rm(path.join(dir, 'version'));
    expect(layoutProblem(dir)).toBe('version is missing');
    await writeFile(path.join(dir, 'manifest.json'), '{"schemaVersion": 1}');
    expect(layoutProblem(dir)).toMatch(
      /^manifest.json is unreadable \(manifest is not schemaVersion 2\)$/,
    );
    await rm(path.join(dir, 'manifest.json'));
    expect(layoutProblem(dir)).toBe('manifest.json is missing');
  });

  it('a kept manifest list needs each platform manifest and its blobs', async () => {
    const dir = path.join(tmp.path, 'list', 'img', '1.0');
    const child = await writeImage(dir, 'amd64');
    const childDigest = sha256Digest(child.manifest);
    await writeFile(path.join(dir, `${hex(childDigest)}.manifest.json`), child.manifest);
    const list = {
      schemaVersion: 2,
      mediaType: MEDIA_DOCKER_LIST,
      manifests: [
        {
          mediaType: MEDIA_DOCKER_MANIFEST,
          digest: childDigest,
          size: child.manifest.length,
          platform: { os: 'linux', architecture: 'amd64' },
        },
      ],
    };
    await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(list));
    expect(layoutProblem(dir)).toBeUndefined();
    await rm(path.join(dir, hex(child.blobs[0] ?? '')));
    expect(layoutProblem(dir)).toContain(`${hex(child.blobs[0] ?? '')} (`);
    await rm(path.join(dir, `${hex(childDigest)}.manifest.json`));
    expect(layoutProblem(dir)).toBe(
      `${hex(childDigest)}.manifest.json (${childDigest}) is missing`,
    );
  });

  it('the inode snapshot taken after dedup changes when a layout is re-created', async () => {
    const images = path.join(tmp.path, 'dedup');
    await writeImage(path.join(images, 'a', '1'), 'same');
    await writeImage(path.join(images, 'b', '1'), 'same');
    const r = await dedupTree([images]);
    expect(r.linked).toBe(4);
    const snap = inodeSnapshot([images]);
    expect(Object.keys(snap)).toHaveLength(8);
    expect(snap[path.join(images, 'a', '1', 'version')]).toBe(
      snap[path.join(images, 'b', '1', 'version')],
    );
    expect(snapshotChanges(snap, inodeSnapshot([images]))).toEqual([]);
    await rm(path.join(images, 'b'), { recursive: true });
    await writeImage(path.join(images, 'b', '1'), 'same');
    const changes = snapshotChanges(snap, inodeSnapshot([images]), 10);
    expect(changes).toHaveLength(4);
    expect(
      changes.every((c) => c.endsWith('(re-created)') && c.includes(`${path.sep}b${path.sep}`)),
    ).toBe(true);
    const a = await stat(path.join(images, 'a', '1', 'version'));
    const b = await stat(path.join(images, 'b', '1', 'version'));
    expect(a.ino).not.toBe(b.ino);
  });
});
