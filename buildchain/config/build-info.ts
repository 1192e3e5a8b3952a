/**
 * Build metadata: the one build-timestamp rule (SOURCE_DATE_EPOCH, else the last git commit
 * time, else the VERSION file's mtime) and the git reference. Nothing here runs while the task
 * graph is defined: {@link buildEpochKey} reads files only; git runs in actions, once a build.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { execDirect, type Exec } from '../engine/exec/run-command.ts';
import type { BuildConfig } from './config.ts';
import { VERSION_FILE } from './version.ts';

/** Time limit of a `git log`/`git describe` (ms): a git that hangs fails like a missing one. */
const GIT_TIMEOUT_MS = 60_000;

/** What the epoch rule reads from the configuration. */
type EpochConfig = Pick<BuildConfig, 'root' | 'settings' | 'tools'>;

async function git(
  config: Pick<BuildConfig, 'root' | 'tools'>,
  args: readonly string[],
): Promise<string | undefined> {
  try {
    const r = await execDirect([config.tools.git?.bin ?? 'git', '-C', config.root, ...args], {
      reject: false,
      timeoutMs: GIT_TIMEOUT_MS,
    });
    return r.exitCode === 0 ? r.stdout.trim() : undefined;
  } catch {
    // Not installed, or killed at the time limit: like no repository.
    return undefined;
  }
}

/**
 * Files whose content changes when HEAD moves (read without running git, so that creating
 * the tasks stays cheap): `.git/HEAD`, the branch ref it points to, `packed-refs`.
 */
export function gitStateFiles(root: string): string[] {
  const dir = path.join(root, '.git');
  const head = path.join(dir, 'HEAD');
  if (!existsSync(head)) return [];
  const files = [head];
  const ref = /^ref: (.+)$/m.exec(readFileSync(head, 'utf8'))?.[1]?.trim();
  if (ref !== undefined && existsSync(path.join(dir, ref))) files.push(path.join(dir, ref));
  if (existsSync(path.join(dir, 'packed-refs'))) files.push(path.join(dir, 'packed-refs'));
  return files;
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The git directory of `root`: `.git`, or where a `.git` file (worktree) points. */
function gitDirOf(root: string): string | undefined {
  const dotGit = path.join(root, '.git');
  if (existsSync(path.join(dotGit, 'HEAD'))) return dotGit;
  const pointer = /^gitdir: (.+)$/m.exec(readText(dotGit) ?? '')?.[1]?.trim();
  return pointer === undefined ? undefined : path.resolve(root, pointer);
}

const SHA_RE = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/**
 * The commit HEAD points to, read from the git files (loose ref, else `packed-refs`) without
 * running git; undefined outside a repository or when it cannot be read that way.
 */
export function headCommit(root: string): string | undefined {
  const dir = gitDirOf(root);
  const head = dir === undefined ? undefined : readText(path.join(dir, 'HEAD'))?.trim();
  if (dir === undefined || head === undefined) return undefined;
  const ref = /^ref: (.+)$/.exec(head)?.[1]?.trim();
  if (ref === undefined) return SHA_RE.test(head) ? head : undefined;
  const commonDir = readText(path.join(dir, 'commondir'))?.trim();
  const common = commonDir === undefined ? dir : path.resolve(dir, commonDir);
  for (const d of [dir, common]) {
    const loose = readText(path.join(d, ref))?.trim();
    if (loose !== undefined && SHA_RE.test(loose)) return loose;
  }
  const packed = (readText(path.join(common, 'packed-refs')) ?? '').split('\n');
  const line = packed.find((l) => l.endsWith(` ${ref}`));
  const sha = line?.split(' ')[0];
  return sha !== undefined && SHA_RE.test(sha) ? sha : undefined;
}

function mtimeOf(file: string): number {
  try {
    return Math.floor(statSync(file).mtimeMs / 1000);
  } catch {
    return 0;
  }
}

function versionMtime(root: string): number {
  return mtimeOf(path.join(root, VERSION_FILE));
}

/**
 * The rule after SOURCE_DATE_EPOCH, for the repository holding `dir` (the buildchain's, or a
 * Solution's): its last commit time, else the mtime of `fallbackFile` (0 when missing). `exec`
 * runs git (a missing or failing git, or one past the time limit, means no commit time).
 */
export async function commitTimeOrMtime(
  exec: Exec,
  gitBin: string,
  dir: string,
  fallbackFile: string,
): Promise<number> {
  const r = await exec([gitBin, '-C', dir, 'log', '-1', '--format=%ct'], {
    reject: false,
    timeoutMs: GIT_TIMEOUT_MS,
  }).catch(() => undefined);
  const out = r?.exitCode === 0 ? r.stdout.trim() : '';
  return /^\d+$/.test(out) ? Number(out) : mtimeOf(fallbackFile);
}

/**
 * What the build epoch depends on, found without starting a process (for fingerprints and
 * labels): `SOURCE_DATE_EPOCH=<s>`, `git <HEAD commit>`, else `VERSION mtime <s>`. Two builds
 * with the same key get the same {@link buildEpoch}.
 */
export function buildEpochKey(config: EpochConfig): string {
  const fixed = config.settings.sourceDateEpoch;
  if (fixed !== undefined) return `SOURCE_DATE_EPOCH=${String(fixed)}`;
  const commit = headCommit(config.root);
  return commit !== undefined
    ? `git ${commit}`
    : `VERSION mtime ${String(versionMtime(config.root))}`;
}

/** One resolution per repository, git binary and epoch key (HEAD), for the whole process. */
const epochs = new Map<string, Promise<number>>();

function resolveEpoch(config: EpochConfig): Promise<number> {
  return commitTimeOrMtime(
    execDirect,
    config.tools.git?.bin ?? 'git',
    config.root,
    path.join(config.root, VERSION_FILE),
  );
}

/**
 * Seconds since the epoch for every date of the build: SOURCE_DATE_EPOCH, else the last git
 * commit time, else the VERSION file's mtime (0 without one). Stable across reruns, so never
 * forces a rebuild. Runs git (once) only when called: call it from actions, not factories.
 */
export function buildEpoch(config: EpochConfig): Promise<number> {
  const fixed = config.settings.sourceDateEpoch;
  if (fixed !== undefined) return Promise.resolve(fixed);
  const key = JSON.stringify([config.root, config.tools.git?.bin ?? 'git', buildEpochKey(config)]);
  let epoch = epochs.get(key);
  if (epoch === undefined) {
    epoch = resolveEpoch(config);
    epochs.set(key, epoch);
  }
  return epoch;
}

/**
 * `git describe --always --long --tags` of HEAD ('' outside git). `--dirty` is left out on
 * purpose: an uncommitted edit would change product.txt, and so the ISO, by itself.
 */
export async function gitReference(config: Pick<BuildConfig, 'root' | 'tools'>): Promise<string> {
  return (await git(config, ['describe', '--always', '--long', '--tags'])) ?? '';
}
