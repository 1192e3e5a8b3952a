/**
 * BUILD_ROOT is the only directory the buildchain writes to and removes from, so it must be a
 * dedicated one: resolved with its symlinks followed, it may not be `/`, a system or home
 * directory, the repository, an ancestor of it or one of its source directories.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../engine/failures.ts';
import { isAtOrInside, resolveReal } from '../lib/fs/fence.ts';

/** The default BUILD_ROOT, relative to the repository. */
export const DEFAULT_BUILD_DIR = '_build';

/** Directories that are never a build directory themselves. */
const SYSTEM_DIRS: ReadonlySet<string> = new Set([
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/opt',
  '/proc',
  '/root',
  '/run',
  '/sbin',
  '/srv',
  '/sys',
  '/usr',
  '/var',
  '/home',
  '/tmp',
  '/var/tmp',
  '/mnt',
  '/media',
]);

/** System trees nothing may be built in (outside a repository that happens to live there). */
const SYSTEM_TREES: readonly string[] = [
  '/proc',
  '/sys',
  '/dev',
  '/etc',
  '/usr',
  '/bin',
  '/sbin',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/boot',
];

/** Where the checks look: the repository and the home directories (all absolute). */
export interface BuildRootFacts {
  readonly repo: string;
  readonly homes: readonly string[];
}

/** The directory as written and as resolved, deduplicated. */
function variants(p: string): string[] {
  const abs = path.resolve(p);
  const real = resolveReal(abs);
  return real === abs ? [abs] : [abs, real];
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The top-level directories of the repository that hold sources: every one but `_build` and
 * the build directories of earlier builds (those holding the engine state `.buildchain/`).
 */
function sourceEntries(repo: string): string[] {
  let names: string[];
  try {
    names = readdirSync(repo);
  } catch {
    return [];
  }
  return names
    .filter((n) => n !== DEFAULT_BUILD_DIR)
    .map((n) => path.join(repo, n))
    .filter((p) => isDir(p) && !isDir(path.join(p, '.buildchain')));
}

function systemProblem(p: string): string | undefined {
  if (p === '/') return 'it is the filesystem root';
  if (SYSTEM_DIRS.has(p)) return `${p} is a system directory`;
  const tree = SYSTEM_TREES.find((t) => isAtOrInside(t, p));
  return tree === undefined ? undefined : `it is inside the system directory ${tree}`;
}

function homeProblem(p: string, homes: readonly string[]): string | undefined {
  if (path.dirname(p) === '/home' || homes.some((h) => variants(h).includes(p)))
    return 'it is a home directory';
  return undefined;
}

function repoProblem(
  p: string,
  repos: readonly string[],
  entries: readonly string[],
): string | undefined {
  const repo = repos.find((r) => isAtOrInside(p, r));
  if (repo !== undefined)
    return p === repo ? 'it is the repository itself' : `it contains the repository ${repo}`;
  const entry = entries.find((e) => variants(e).some((v) => isAtOrInside(v, p)));
  return entry === undefined
    ? undefined
    : `it is inside the repository's ${path.basename(entry)}/ directory, which is not a build directory`;
}

/**
 * Why `buildRoot` (absolute) may not be the build directory, or undefined when it may. Both the
 * path as written and its resolved form (every symlink followed) are checked.
 */
export function buildRootProblem(buildRoot: string, facts: BuildRootFacts): string | undefined {
  const repos = variants(facts.repo);
  const entries = repos.flatMap(sourceEntries);
  for (const p of variants(buildRoot)) {
    const inRepo = repos.some((r) => isAtOrInside(r, p) && r !== p);
    const why =
      (inRepo ? undefined : systemProblem(p)) ??
      homeProblem(p, facts.homes) ??
      repoProblem(p, repos, entries);
    if (why !== undefined) return why;
  }
  return undefined;
}

/** Home directories of the user: `os.homedir()` and `$HOME` of `env` (when set). */
export function homeDirs(env: Readonly<Record<string, string | undefined>>): string[] {
  const homes = [os.homedir()];
  if (env.HOME !== undefined && env.HOME !== '') homes.push(env.HOME);
  return homes.filter((h) => h !== '' && existsSync(h)).map((h) => path.resolve(h));
}

/**
 * The absolute BUILD_ROOT for the setting `value` ('' means `_build`) of the repository at
 * `repo`. Throws `invalid-env` (exit 2, before anything is written) when it is not a dedicated
 * directory (see {@link buildRootProblem}).
 */
export function checkedBuildRoot(
  repo: string,
  value: string,
  env: Readonly<Record<string, string | undefined>>,
): string {
  const buildRoot = path.resolve(repo, value === '' ? DEFAULT_BUILD_DIR : value);
  const why = buildRootProblem(buildRoot, { repo, homes: homeDirs(env) });
  if (why !== undefined) {
    const real = resolveReal(buildRoot);
    const shown = real === buildRoot ? buildRoot : `${buildRoot}, resolved to ${real},`;
    throw new UsageError(
      'invalid-env',
      `BUILD_ROOT=${value === '' ? DEFAULT_BUILD_DIR : value}: ${shown} cannot be the build directory (${why})`,
      `set BUILD_ROOT in .env to a dedicated directory such as ${DEFAULT_BUILD_DIR} (the default): everything under it may be removed`,
    );
  }
  return buildRoot;
}
