/**
 * Scans an images directory (`ROOT/<name>/<tag>/` skopeo `dir:` layouts) for the static
 * registry generator: manifest media types and digests, per-platform instance manifests.
 */
import type { Dirent } from 'node:fs';
import path from 'node:path';
import { readRegularFile } from '../../lib/fs/read-bounded.ts';
import { listDirSync } from '../../lib/fs/walk.ts';
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

/** The entries of a directory (none when it cannot be listed). */
function entries(p: string): readonly Dirent[] {
  try {
    return listDirSync(p);
  } catch {
    return [];
  }
}

function dirs(p: string): string[] {
  return entries(p).filter((e) => e.isDirectory()).map((e) => e.name).sort(byCodePoint);
}

/** A served layout: `<root>/<name>/<tag>`. */
interface LayoutDir {
  readonly name: string;
  readonly tag: string;
  readonly dir: string;
}

/**
 * The layouts under `root` a scan serves: valid repository names and tags, staging and
 * retired (`.old-`) directories left out; `warnings` names the directories that are not
 * repository names.
 */
function layoutDirs(root: string, warnings: string[] = []): Map<string, LayoutDir[]> {
  const byName = new Map<string, LayoutDir[]>();
  for (const name of dirs(root)) {
    if (!NAME.test(name)) {
      if (!name.includes('.staging-') && !name.includes('.old-')) warnings.push(`${name}: not a repository name, skipped`);
      continue;
    }
    const tags = dirs(path.join(root, name))
      .filter((tag) => TAG.test(tag) && !tag.includes('.staging-') && !tag.includes('.old-'))
      .map((tag) => ({ name, tag, dir: path.join(root, name, tag) }));
    byName.set(name, tags);
  }
  return byName;
}

/**
 * The manifest files a scan reads: each layout's `manifest.json` and the `<hex>.manifest.json`
 * instances beside it, listed (directory listings only, nothing read). They are the file deps of
 * the registry configuration, which serves their digests: a layout that changes while its
 * pull or build task keeps its fingerprint (a tag that moved under ALLOW_UNPINNED_IMAGES, a
 * build that is not reproducible) rewrites the configuration.
 */
export function manifestFiles(root: string): string[] {
  const out: string[] = [];
  for (const layouts of layoutDirs(root).values())
    for (const { dir } of layouts)
      for (const e of entries(dir))
        if (e.isFile() && (e.name === 'manifest.json' || INSTANCE.test(e.name))) out.push(path.join(dir, e.name));
  return out;
}

/**
 * A manifest file's bytes: a regular file (a FIFO or a device would block or never end) of
 * at most {@link MAX_MANIFEST_BYTES}; throws naming the file name otherwise.
 */
function readManifestFile(dir: string, file: string): Buffer {
  return readRegularFile(path.join(dir, file), { maxBytes: MAX_MANIFEST_BYTES, what: file });
}

function scanTag(dir: string, tag: string): ScannedTag {
  const bytes = readManifestFile(dir, 'manifest.json');
  const parsed = parseManifest(bytes);
  const manifest = { digest: sha256Digest(bytes), mediaType: parsed.mediaType, file: 'manifest.json' };
  const instances: ServedManifest[] = [];
  if (parsed.kind === 'list') {
    const files = new Set(entries(dir).map((e) => e.name));
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
export function scanImagesDir(root: string): Promise<ScanResult> {
  const repos: ScannedRepo[] = [];
  const warnings: string[] = [];
  for (const [name, layouts] of layoutDirs(root, warnings)) {
    const tags: ScannedTag[] = [];
    for (const { tag, dir } of layouts) {
      try {
        tags.push(scanTag(dir, tag));
      } catch (err) {
        warnings.push(`${name}/${tag}: ${(err as Error).message}, skipped`);
      }
    }
    if (tags.length > 0) repos.push({ name, tags });
  }
  return Promise.resolve({ repos, warnings });
}
