/**
 * Scans an images directory (`ROOT/<name>/<tag>/` skopeo `dir:` layouts) for the static
 * registry generator: manifest media types and digests, per-platform instance manifests.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { readRegularFile } from '../../lib/fs/read-bounded.ts';
import { MAX_MANIFEST_BYTES, parseManifest, sha256Digest } from '../../lib/oci/manifest.ts';

/** A manifest file served by the registry. */
export interface ServedManifest {
  /** `sha256:<hex>` of the file's bytes. */
  readonly digest: string;
  readonly mediaType: string;
  /** File name inside the tag directory (`manifest.json` or `<hex>.manifest.json`). */
  readonly file: string;
}

/** One tag of a repository. */
export interface ScannedTag {
  readonly tag: string;
  readonly manifest: ServedManifest;
  /** Per-platform manifests of a list/index (empty for single images). */
  readonly instances: readonly ServedManifest[];
}

/** One repository (an image name) and its tags, sorted. */
export interface ScannedRepo {
  readonly name: string;
  readonly tags: readonly ScannedTag[];
}

/** Result of {@link scanImagesDir}. */
export interface ScanResult {
  readonly repos: readonly ScannedRepo[];
  /** Entries skipped, with the reason (for stderr). */
  readonly warnings: readonly string[];
}

const NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const INSTANCE = /^([a-f0-9]{64})\.manifest\.json$/;

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function dirs(p: string): Promise<string[]> {
  const entries = await readdir(p, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort(byCodePoint);
}

/**
 * A manifest file's bytes: a regular file (a FIFO or a device would block or never end) of
 * at most {@link MAX_MANIFEST_BYTES}; throws naming the file name otherwise.
 */
function readManifestFile(dir: string, file: string): Buffer {
  return readRegularFile(path.join(dir, file), { maxBytes: MAX_MANIFEST_BYTES, what: file });
}

async function scanTag(dir: string, tag: string): Promise<ScannedTag> {
  const bytes = readManifestFile(dir, 'manifest.json');
  const parsed = parseManifest(bytes);
  const manifest = { digest: sha256Digest(bytes), mediaType: parsed.mediaType, file: 'manifest.json' };
  const instances: ServedManifest[] = [];
  if (parsed.kind === 'list') {
    const files = new Set(await readdir(dir));
    for (const child of parsed.manifests) {
      const file = `${child.digest.slice('sha256:'.length)}.manifest.json`;
      if (!files.has(file)) continue; // narrowed lists are not produced, but skopeo may leave some out
      const childBytes = readManifestFile(dir, file);
      const digest = sha256Digest(childBytes);
      if (digest !== child.digest || INSTANCE.exec(file) === null) {
        throw new Error(`${file} does not match its digest (${digest})`);
      }
      instances.push({ digest, mediaType: parseManifest(childBytes, child.mediaType).mediaType, file });
    }
  }
  return { tag, manifest, instances };
}

/**
 * Scans `root` two levels deep. Directories that are not valid names or tags, or whose
 * `manifest.json` is missing, unsupported, not a regular file or larger than a manifest can
 * be, are skipped with a warning; stray files and staging directories are ignored.
 */
export async function scanImagesDir(root: string): Promise<ScanResult> {
  const repos: ScannedRepo[] = [];
  const warnings: string[] = [];
  for (const name of await dirs(root)) {
    if (!NAME.test(name)) {
      if (!name.includes('.staging-') && !name.includes('.old-')) warnings.push(`${name}: not a repository name, skipped`);
      continue;
    }
    const tags: ScannedTag[] = [];
    for (const tag of await dirs(path.join(root, name))) {
      if (!TAG.test(tag) || tag.includes('.staging-') || tag.includes('.old-')) continue;
      try {
        tags.push(await scanTag(path.join(root, name, tag), tag));
      } catch (err) {
        warnings.push(`${name}/${tag}: ${(err as Error).message}, skipped`);
      }
    }
    if (tags.length > 0) repos.push({ name, tags });
  }
  return { repos, warnings };
}
