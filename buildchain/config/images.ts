/**
 * The image content list (`images/images.yaml`): loading and validation. Every problem is
 * reported at once, each naming the file, the entry and the fix.
 */
import path from 'node:path';
import { fromSync } from '../lib/async/from-sync.ts';
import { parseYaml } from '../lib/text/parse-yaml.ts';
import { TaskError } from '../engine/task.ts';
import { readRegularText } from '../lib/fs/read-bounded.ts';
import {
  abbreviate,
  imageNameProblem,
  isDigest,
  isRegistryHost,
  isRepositoryName,
  pathComponentProblem,
  tagProblem,
} from '../lib/text/distribution-names.ts';
import { buildFileOfSync, buildPathProblems } from './image-build-paths.ts';
import type { ImageEntry } from './content-types.ts';

export { isDigest, isRepositoryName, isTag } from '../lib/text/distribution-names.ts';

/** Default content list, relative to the repository root. */
export const IMAGE_LIST_FILE = 'images/images.yaml';

const ENTRY_KEYS = new Set([
  'name',
  'version',
  'source',
  'digest',
  'ship',
  'archivePath',
  'platforms',
  'build',
]);
const BUILD_KEYS = new Set(['context', 'file', 'args']);

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
    const where = (name: string): string => `${file}: images[${index}] (${abbreviate(name)})`;
    if (!isRecord(raw)) {
      problems.push(`${file}: images[${index}] is not a mapping; write "- name: ... version: ..."`);
      return;
    }
    const name = str(raw.name) ?? '';
    const at = where(name === '' ? '?' : name);
    const before = problems.length;
    for (const key of Object.keys(raw)) {
      if (!ENTRY_KEYS.has(key))
        problems.push(`${at}: unknown key "${key}"; allowed: ${[...ENTRY_KEYS].join(', ')}`);
    }
    const version = str(raw.version) ?? '';
    for (const p of [imageNameProblem(name), tagProblem(version)]) {
      if (p !== undefined) problems.push(`${at}: ${p.message}; ${p.fix}`);
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
      if (other !== undefined)
        problems.push(`${at}: archivePath ${entry.archivePath} is also used by ${other}`);
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
      problems.push(
        `${at}: archivePath "${archivePath}" must be a relative path ending in .tar, inside the ISO root`,
      );
    } else {
      const long = archivePath
        .split('/')
        .map((c) => pathComponentProblem(c, `archivePath component "${abbreviate(c)}"`))
        .find((p) => p !== undefined);
      if (long !== undefined) problems.push(`${at}: ${long.message}; set a shorter archivePath`);
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

function remoteEntry(
  raw: Record<string, unknown>,
  at: string,
  base: EntryBase,
  problems: string[],
): ImageEntry {
  const src = isRecord(raw.source) ? raw.source : {};
  const registry = str(src.registry) ?? '';
  const repository = str(src.repository) ?? '';
  if (!isRegistryHost(registry)) {
    problems.push(
      `${at}: source.registry "${registry}" is not a registry host like quay.io or 127.0.0.1:5000`,
    );
  }
  if (!isRepositoryName(repository)) {
    problems.push(
      `${at}: source.repository "${repository}" is not a valid repository like calico/node`,
    );
  }
  const digest = raw.digest === undefined || raw.digest === null ? undefined : str(raw.digest);
  if (
    raw.digest !== undefined &&
    raw.digest !== null &&
    (digest === undefined || !isDigest(digest))
  ) {
    problems.push(
      `${at}: digest ${JSON.stringify(raw.digest)} is not sha256:<64 lowercase hex>; ` +
        'fix it, or remove it and record the real one with images:lock',
    );
  }
  return { ...base, source: { registry, repository }, ...(digest !== undefined ? { digest } : {}) };
}

function localEntry(
  raw: Record<string, unknown>,
  at: string,
  base: EntryBase,
  problems: string[],
): ImageEntry {
  if (raw.digest !== undefined)
    problems.push(`${at}: a local image has no pinned digest; remove "digest"`);
  const build = isRecord(raw.build) ? raw.build : {};
  for (const key of Object.keys(build)) {
    if (!BUILD_KEYS.has(key))
      problems.push(`${at}: unknown key "build.${key}"; allowed: context, file, args`);
  }
  const context = str(build.context) ?? '';
  if (!isSafeRelative(context)) {
    problems.push(
      `${at}: build.context "${context}" must be a directory relative to the repository root`,
    );
  }
  const file = str(build.file);
  if (build.file !== undefined && (file === undefined || file === '' || path.isAbsolute(file))) {
    problems.push(
      `${at}: build.file ${JSON.stringify(build.file)} must be a path relative to build.context (e.g. Containerfile)`,
    );
  }
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
 * {@link IMAGE_LIST_FILE}; read as a regular file of bounded size). Also checks that each
 * local build context resolves to a directory inside the repository, its Containerfile to a
 * regular file inside the repository, and that no symlink of the context leads out of it
 * (image-build-paths.ts). Throws a TaskError (`invalid-input`) listing every problem.
 */
export function loadImageList(root: string, file: string = IMAGE_LIST_FILE): Promise<ImageEntry[]> {
  return fromSync(() => loadImageListSync(root, file));
}

/**
 * The Containerfile of a build context: `file` when given, else `Containerfile`, else
 * `Dockerfile`. Undefined when none exists. With `fence`, the file must resolve (symlinks
 * followed) inside it and be a regular file (`invalid-input` otherwise).
 */
export function buildFileOf(
  contextDir: string,
  file?: string,
  fence?: string,
): Promise<string | undefined> {
  return fromSync(() => buildFileOfSync(contextDir, file, fence));
}

/** Largest image list accepted (bytes): the real one is a few KiB. */
const MAX_IMAGE_LIST_BYTES = 4 * 1024 * 1024;

/**
 * Synchronous {@link loadImageList}, for task factories (which must be synchronous and cheap:
 * this reads one small file and stats the build contexts).
 */
export function loadImageListSync(root: string, file: string = IMAGE_LIST_FILE): ImageEntry[] {
  let text: string;
  try {
    text = readRegularText(path.resolve(root, file), {
      what: file,
      maxBytes: MAX_IMAGE_LIST_BYTES,
      fix: `make ${file} a regular file listing the images (format: docs/images.md)`,
    });
  } catch (err) {
    if (err instanceof TaskError) {
      const missing = err.reason === 'missing-file-dep';
      throw new TaskError('invalid-input', `cannot read the image list ${err.message}`, {
        hint: missing ? `create ${file} (see docs/images.md)` : (err.hint ?? `fix ${file}`),
      });
    }
    throw new TaskError('invalid-input', `cannot read the image list ${file}: ${String(err)}`, {
      hint: `create ${file} (see docs/images.md)`,
    });
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (err) {
    throw new TaskError('invalid-input', `${file} is not valid YAML: ${String(err)}`, {
      hint: 'fix the YAML syntax at the position given',
    });
  }
  const { entries, problems } = validateImageList(data, file);
  for (const entry of entries) problems.push(...buildPathProblems(root, entry, file));
  if (problems.length > 0) {
    throw new TaskError(
      'invalid-input',
      `invalid image list ${file}:\n  ${problems.join('\n  ')}`,
      {
        hint: 'fix the entries named above (format: docs/images.md)',
      },
    );
  }
  return entries;
}
