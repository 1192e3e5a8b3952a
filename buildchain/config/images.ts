/**
 * The image content list (`images/images.yaml`): loading and validation. Every problem is
 * reported at once, each naming the file, the entry and the fix.
 */
import { existsSync, readFileSync } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { TaskError } from '../engine/task.ts';
import type { ImageEntry } from './content-types.ts';

/** Default content list, relative to the repository root. */
export const IMAGE_LIST_FILE = 'images/images.yaml';

// Distribution reference grammar (distribution/reference/regexp.go).
const NAME_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
const REGISTRY_HOST = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9-]+)*(?::[0-9]+)?$/;
const ENTRY_KEYS = new Set(['name', 'version', 'source', 'digest', 'ship', 'archivePath', 'platforms', 'build']);
const BUILD_KEYS = new Set(['context', 'file', 'args']);

/** True for a repository path (`a/b-c/d`) valid in the distribution grammar. */
export function isRepositoryName(value: string): boolean {
  return value.length <= 255 && value.split('/').every((c) => NAME_COMPONENT.test(c));
}

/** True for a tag valid in the distribution grammar. */
export function isTag(value: string): boolean {
  return TAG.test(value);
}

/** True for `sha256:` + 64 lowercase hex. */
export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A YAML scalar as a string (numbers like `1.5` are accepted as tags). */
function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

function isSafeRelative(p: string): boolean {
  return p !== '' && !path.isAbsolute(p) && !p.split(/[\\/]/).includes('..');
}

/**
 * Validates parsed YAML (pure: no disk access). Returns the entries and the problems found;
 * `file` is only used in messages.
 */
export function validateImageList(
  data: unknown,
  file: string,
): { entries: ImageEntry[]; problems: string[] } {
  const problems: string[] = [];
  const entries: ImageEntry[] = [];
  if (!isRecord(data) || !Array.isArray(data.images)) {
    return { entries, problems: [`${file}: expected a mapping with an "images:" list`] };
  }
  const seen = new Map<string, number>();
  const archives = new Map<string, string>();
  data.images.forEach((raw: unknown, index) => {
    const where = (name: string): string => `${file}: images[${index}] (${name})`;
    if (!isRecord(raw)) {
      problems.push(`${file}: images[${index}] is not a mapping; write "- name: ... version: ..."`);
      return;
    }
    const name = str(raw.name) ?? '';
    const at = where(name === '' ? '?' : name);
    const before = problems.length;
    for (const key of Object.keys(raw)) {
      if (!ENTRY_KEYS.has(key)) problems.push(`${at}: unknown key "${key}"; allowed: ${[...ENTRY_KEYS].join(', ')}`);
    }
    if (!NAME_COMPONENT.test(name)) {
      problems.push(`${at}: name "${name}" is not a valid image name; use one lowercase component like "calico-node"`);
    }
    const version = str(raw.version) ?? '';
    if (!isTag(version)) {
      problems.push(`${at}: version "${version}" is not a valid tag; use [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`);
    }
    const key = `${name}:${version}`;
    const first = seen.get(key);
    if (first !== undefined) {
      problems.push(`${at}: duplicate of images[${first}] (${key}); remove one of them`);
    } else {
      seen.set(key, index);
    }
    const entry = validateKinds(raw, at, name, version, problems);
    if (entry?.archivePath !== undefined) {
      const other = archives.get(entry.archivePath);
      if (other !== undefined) problems.push(`${at}: archivePath ${entry.archivePath} is also used by ${other}`);
      archives.set(entry.archivePath, name);
    }
    if (entry !== undefined && problems.length === before) entries.push(entry);
  });
  return { entries, problems };
}

/** Checks source/digest/build/ship/platforms of one entry and returns it (or undefined). */
function validateKinds(
  raw: Record<string, unknown>,
  at: string,
  name: string,
  version: string,
  problems: string[],
): ImageEntry | undefined {
  const hasSource = raw.source !== undefined;
  const hasBuild = raw.build !== undefined;
  if (hasSource === hasBuild) {
    problems.push(`${at}: give exactly one of "source" (remote image) or "build" (local image)`);
    return undefined;
  }
  const ship = raw.ship ?? 'dir';
  if (ship !== 'dir' && ship !== 'archive') {
    problems.push(`${at}: ship ${JSON.stringify(ship)} must be "dir" or "archive"`);
  }
  const platforms = raw.platforms ?? 'linux/amd64';
  if (platforms !== 'linux/amd64' && platforms !== 'all') {
    problems.push(`${at}: platforms ${JSON.stringify(platforms)} must be "linux/amd64" or "all"`);
  }
  if (platforms === 'all' && ship === 'archive') {
    problems.push(`${at}: an archive holds one platform; remove "platforms: all" or use ship: dir`);
  }
  let archivePath: string | undefined;
  if (ship === 'archive') {
    archivePath = str(raw.archivePath) ?? `images/${name}-${version}.tar`;
    if (!isSafeRelative(archivePath) || !archivePath.endsWith('.tar')) {
      problems.push(`${at}: archivePath "${archivePath}" must be a relative path ending in .tar, inside the ISO root`);
    }
  } else if (raw.archivePath !== undefined) {
    problems.push(`${at}: archivePath is only for ship: archive; remove it`);
  }
  const base = {
    name,
    version,
    ship: ship === 'archive' ? ('archive' as const) : ('dir' as const),
    platforms: platforms === 'all' ? ('all' as const) : ('linux/amd64' as const),
    ...(archivePath !== undefined ? { archivePath } : {}),
  };
  return hasSource ? remoteEntry(raw, at, base, problems) : localEntry(raw, at, base, problems);
}

type EntryBase = Pick<ImageEntry, 'name' | 'version' | 'ship' | 'platforms' | 'archivePath'>;

function remoteEntry(raw: Record<string, unknown>, at: string, base: EntryBase, problems: string[]): ImageEntry {
  const src = isRecord(raw.source) ? raw.source : {};
  const registry = str(src.registry) ?? '';
  const repository = str(src.repository) ?? '';
  if (!REGISTRY_HOST.test(registry)) {
    problems.push(`${at}: source.registry "${registry}" is not a registry host like quay.io or 127.0.0.1:5000`);
  }
  if (!isRepositoryName(repository)) {
    problems.push(`${at}: source.repository "${repository}" is not a valid repository like calico/node`);
  }
  const digest = raw.digest === undefined || raw.digest === null ? undefined : str(raw.digest);
  if (raw.digest !== undefined && raw.digest !== null && (digest === undefined || !isDigest(digest))) {
    problems.push(
      `${at}: digest ${JSON.stringify(raw.digest)} is not sha256:<64 lowercase hex>; ` +
        'fix it, or remove it and record the real one with images:lock',
    );
  }
  return { ...base, source: { registry, repository }, ...(digest !== undefined ? { digest } : {}) };
}

function localEntry(raw: Record<string, unknown>, at: string, base: EntryBase, problems: string[]): ImageEntry {
  if (raw.digest !== undefined) problems.push(`${at}: a local image has no pinned digest; remove "digest"`);
  const build = isRecord(raw.build) ? raw.build : {};
  for (const key of Object.keys(build)) {
    if (!BUILD_KEYS.has(key)) problems.push(`${at}: unknown key "build.${key}"; allowed: context, file, args`);
  }
  const context = str(build.context) ?? '';
  if (!isSafeRelative(context)) {
    problems.push(`${at}: build.context "${context}" must be a directory relative to the repository root`);
  }
  const file = str(build.file);
  const args: Record<string, string> = {};
  if (build.args !== undefined) {
    if (!isRecord(build.args)) {
      problems.push(`${at}: build.args must be a mapping of NAME: value`);
    } else {
      for (const [k, v] of Object.entries(build.args)) {
        const value = str(v);
        if (value === undefined || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) {
          problems.push(`${at}: build.args.${k} must be NAME: scalar value`);
        } else {
          args[k] = value;
        }
      }
    }
  }
  return { ...base, build: { context, ...(file !== undefined ? { file } : {}), args } };
}

/**
 * Loads and validates the image list. `file` is relative to `root` (default
 * {@link IMAGE_LIST_FILE}). Also checks that each local build context and its
 * Containerfile/Dockerfile exist. Throws a TaskError (`invalid-input`) listing every problem.
 */
export function loadImageList(root: string, file: string = IMAGE_LIST_FILE): Promise<ImageEntry[]> {
  try {
    return Promise.resolve(loadImageListSync(root, file));
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

/**
 * The Containerfile of a build context: `file` when given, else `Containerfile`, else
 * `Dockerfile`. Undefined when none exists.
 */
export async function buildFileOf(contextDir: string, file?: string): Promise<string | undefined> {
  const candidates = file !== undefined ? [file] : ['Containerfile', 'Dockerfile'];
  for (const c of candidates) {
    const p = path.resolve(contextDir, c);
    if (await access(p).then(() => true, () => false)) return p;
  }
  return undefined;
}

/**
 * Synchronous {@link loadImageList}, for task factories (which must be synchronous and cheap:
 * this reads one small file and stats the build contexts).
 */
export function loadImageListSync(root: string, file: string = IMAGE_LIST_FILE): ImageEntry[] {
  let text: string;
  try {
    text = readFileSync(path.resolve(root, file), 'utf8');
  } catch (err) {
    throw new TaskError('invalid-input', `cannot read the image list ${file}: ${String(err)}`, {
      hint: `create ${file} (see docs/images.md)`,
    });
  }
  let data: unknown;
  try {
    data = YAML.parse(text);
  } catch (err) {
    throw new TaskError('invalid-input', `${file} is not valid YAML: ${String(err)}`, {
      hint: 'fix the YAML syntax at the position given',
    });
  }
  const { entries, problems } = validateImageList(data, file);
  for (const entry of entries) {
    if (entry.build === undefined) continue;
    const ctx = path.resolve(root, entry.build.context);
    const candidates = entry.build.file !== undefined ? [entry.build.file] : ['Containerfile', 'Dockerfile'];
    if (!candidates.some((c) => existsSync(path.resolve(ctx, c)))) {
      problems.push(
        `${file}: ${entry.name}: build context ${entry.build.context} has no ` +
          `${entry.build.file ?? 'Containerfile or Dockerfile'}; create it or fix build.context`,
      );
    }
  }
  if (problems.length > 0) {
    throw new TaskError('invalid-input', `invalid image list ${file}:\n  ${problems.join('\n  ')}`, {
      hint: 'fix the entries named above (format: docs/images.md)',
    });
  }
  return entries;
}
