/**
 * Walks the ISO root tree and recomputes what the build report says about it: byte counts
 * (logical vs deduplicated by inode), images (manifest digests, blobs), yum repositories and
 * their RPMs (identity from the header, sha256 of the file).
 */

import { lstat, open, readFile } from 'node:fs/promises';
import path from 'node:path';
import { sha256Digest, sha256File } from '../../lib/fs/hash.ts';
import { walkTree as walkEntries } from '../../lib/fs/walk.ts';
import { formatNevra, readRpmIdentity } from './rpm-header.ts';
import type { ByteCounts, ReportImage, ReportRepo, ReportRpm } from './report-types.ts';

/** One regular file of the tree. */
export interface TreeFile {
  /** Path relative to the tree root, `/`-separated. */
  readonly rel: string;
  readonly size: number;
  /** `dev:ino`, identical for hard links. */
  readonly inode: string;
}

/** Every regular file under `root` (symlinks are not followed nor counted), sorted by path. */
export async function walkTree(root: string): Promise<TreeFile[]> {
  const out: TreeFile[] = [];
  for (const e of await walkEntries(root)) {
    if (e.kind !== 'file') continue;
    const st = await lstat(e.path, { bigint: true });
    out.push({ rel: e.rel, size: Number(st.size), inode: `${String(st.dev)}:${String(st.ino)}` });
  }
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

/** Logical bytes (every name) and deduplicated bytes (every inode once) of `files`. */
export function countBytes(files: readonly TreeFile[]): ByteCounts {
  const seen = new Set<string>();
  let logicalBytes = 0;
  let dedupBytes = 0;
  for (const f of files) {
    logicalBytes += f.size;
    if (seen.has(f.inode)) continue;
    seen.add(f.inode);
    dedupBytes += f.size;
  }
  return { logicalBytes, dedupBytes, files: files.length };
}

/** Files under `prefix/` (a relative directory). */
export function filesUnder(files: readonly TreeFile[], prefix: string): TreeFile[] {
  const p = prefix.endsWith('/') ? prefix : `${prefix}/`;
  return files.filter((f) => f.rel.startsWith(p));
}

interface ManifestLike {
  readonly mediaType?: string;
  readonly config?: { readonly digest?: string };
  readonly layers?: readonly { readonly digest?: string }[];
  readonly manifests?: readonly { readonly digest?: string }[];
}

/** `images/<name>/<version>/` layouts (skopeo `dir:`), digests recomputed from manifest.json. */
export async function scanImageDirs(
  root: string,
  files: readonly TreeFile[],
): Promise<ReportImage[]> {
  const images: ReportImage[] = [];
  for (const f of files) {
    const m = /^images\/([^/]+)\/([^/]+)\/manifest\.json$/.exec(f.rel);
    if (m === null) continue;
    const [, name = '', version = ''] = m;
    const dir = `images/${name}/${version}`;
    const raw = await readFile(path.join(root, f.rel));
    const manifest = JSON.parse(raw.toString('utf8')) as ManifestLike;
    const digests = [
      manifest.config?.digest,
      ...(manifest.layers ?? []).map((l) => l.digest),
      ...(manifest.manifests ?? []).map((l) => l.digest),
    ];
    const inDir = filesUnder(files, dir);
    const blobs = digests
      .filter((d): d is string => typeof d === 'string')
      .map((digest) => ({
        digest,
        size: inDir.find((x) => x.rel === `${dir}/${digest.replace(/^sha256:/, '')}`)?.size ?? -1,
      }));
    images.push({
      name,
      version,
      ship: 'dir',
      path: dir,
      digest: sha256Digest(raw),
      mediaType: manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json',
      blobs,
      bytes: countBytes(inDir),
    });
  }
  return images;
}

/** Repositories (dirs with `repodata/repomd.xml`) and their RPMs. */
export async function scanRepositories(
  root: string,
  files: readonly TreeFile[],
): Promise<{ repos: ReportRepo[]; rpms: ReportRpm[] }> {
  const repoDirs = files
    .filter((f) => f.rel.endsWith('/repodata/repomd.xml'))
    .map((f) => f.rel.slice(0, -'/repodata/repomd.xml'.length));
  const repos: ReportRepo[] = [];
  const rpms: ReportRpm[] = [];
  for (const dir of repoDirs) {
    const inRepo = filesUnder(files, dir);
    const name = path.posix.basename(dir);
    const rpmFiles = inRepo.filter((f) => f.rel.endsWith('.rpm'));
    for (const f of rpmFiles) rpms.push(await describeRpm(root, f, name));
    repos.push({ name, path: dir, rpms: rpmFiles.length, bytes: countBytes(inRepo) });
  }
  return { repos, rpms };
}

async function describeRpm(root: string, f: TreeFile, repo: string): Promise<ReportRpm> {
  const abs = path.join(root, f.rel);
  const handle = await open(abs, 'r');
  try {
    const id = await readRpmIdentity(async (offset, length) => {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buf, 0, length, offset);
      return buf.subarray(0, bytesRead);
    });
    return {
      name: id.name,
      ...(id.epoch === undefined ? {} : { epoch: id.epoch }),
      version: id.version,
      release: id.release,
      arch: id.arch,
      nevra: formatNevra(id),
      sha256: await sha256File(abs),
      size: f.size,
      path: f.rel,
      repo,
    };
  } catch (err) {
    throw new Error(`${f.rel}: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await handle.close();
  }
}
