/**
 * Writes images straight into the filesystem storage of a distribution registry (the layout
 * `docker-registry` serves from `storage.filesystem.rootdirectory`), so seeding needs no running
 * server and no push round-trips. Every file is written to a temp name then renamed; the tag
 * link is written last, so an interrupted write never leaves a tag pointing at missing blobs.
 */
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../../lib/fs/atomic-write.ts';
import { linkOrCopy } from '../../lib/fs/staging.ts';
import type { Blob, FileBlob, StandInImage } from './stand-in-image.ts';

/** Paths inside a registry storage root (`rootdirectory`). */
function v2(root: string, ...parts: string[]): string {
  return path.join(root, 'docker', 'registry', 'v2', ...parts);
}

function hexOf(digest: string): string {
  const hex = digest.replace(/^sha256:/, '');
  if (!/^[a-f0-9]{64}$/.test(hex)) throw new Error(`not a sha256 digest: ${digest}`);
  return hex;
}

async function hasContent(file: string, expected: string): Promise<boolean> {
  try {
    return (await readFile(file, 'utf8')) === expected;
  } catch {
    return false;
  }
}

async function writeBlobData(root: string, b: Blob | FileBlob): Promise<void> {
  const hex = hexOf(b.digest);
  const file = v2(root, 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
  if ('file' in b) {
    // Generated on disk (release scale): hard-linked, never copied.
    const existing = await stat(file).catch(() => undefined);
    if (existing?.size === b.size) return;
    await mkdir(path.dirname(file), { recursive: true });
    await linkOrCopy(b.file, file);
    return;
  }
  // Content-addressed: an existing file of the right size is the same blob.
  try {
    const existing = await readFile(file);
    if (existing.length === b.data.length) return;
  } catch {
    // not there yet
  }
  await writeFileAtomic(file, b.data, { mkdir: true });
}

async function writeLink(file: string, digest: string): Promise<void> {
  if (await hasContent(file, digest)) return;
  await writeFileAtomic(file, digest, { mkdir: true });
}

/**
 * The bytes the registry stores under `digest` (a manifest or a blob) in the storage root, or
 * undefined when absent. The caller checks them against the digest.
 */
export async function readStoredBlob(root: string, digest: string): Promise<Buffer | undefined> {
  if (!/^sha256:[a-f0-9]{64}$/.test(digest)) return undefined;
  const hex = hexOf(digest);
  return readFile(v2(root, 'blobs', 'sha256', hex.slice(0, 2), hex, 'data')).catch(() => undefined);
}

/** Repository name in the mirror registry: `<upstream-host>/<repository>`. */
export function mirrorRepositoryName(registry: string, repository: string): string {
  return `${registry}/${repository}`;
}

/** Stores one image (blobs, manifests, tag) under `root`. Idempotent. */
export async function storeImage(root: string, image: StandInImage): Promise<void> {
  const repo = mirrorRepositoryName(image.ref.registry, image.ref.repository);
  const repoDir = (...parts: string[]): string =>
    v2(root, 'repositories', ...repo.split('/'), ...parts);
  for (const b of [...image.blobs, ...(image.fileBlobs ?? [])]) {
    await writeBlobData(root, b);
    await writeLink(repoDir('_layers', 'sha256', hexOf(b.digest), 'link'), b.digest);
  }
  for (const m of [...image.childManifests, image.top]) {
    await writeBlobData(root, m);
    await writeLink(
      repoDir('_manifests', 'revisions', 'sha256', hexOf(m.digest), 'link'),
      m.digest,
    );
  }
  const topHex = hexOf(image.top.digest);
  const tagDir = repoDir('_manifests', 'tags', image.ref.tag);
  await writeLink(path.join(tagDir, 'index', 'sha256', topHex, 'link'), image.top.digest);
  await writeLink(path.join(tagDir, 'current', 'link'), image.top.digest);
}

/** Removes the whole storage (used when the stand-in format changes). */
export async function clearStorage(root: string): Promise<void> {
  await rm(v2(root), { recursive: true, force: true });
}
