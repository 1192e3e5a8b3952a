/** Build metadata from the environment: the reproducible timestamp and the git reference. */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { BuildConfig } from './config.ts';
import { parseSourceDateEpoch } from './source-date-epoch.ts';

/** Time limit of a `git log`/`git describe` (ms): a git that hangs fails like a missing one. */
const GIT_TIMEOUT_MS = 60_000;

function git(config: BuildConfig, args: readonly string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    const options = { timeout: GIT_TIMEOUT_MS, killSignal: 'SIGKILL' as const };
    execFile(config.tools.git?.bin ?? 'git', ['-C', config.root, ...args], options, (err, stdout) => {
      resolve(err === null ? stdout.trim() : undefined);
    });
  });
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

/**
 * Seconds since the epoch for every date of the build: SOURCE_DATE_EPOCH, else the last git
 * commit time, else the VERSION file's mtime. Stable across reruns, so never forces a rebuild.
 */
export async function buildEpoch(config: BuildConfig): Promise<number> {
  const epoch = parseSourceDateEpoch(config.env.SOURCE_DATE_EPOCH);
  if (epoch !== undefined) return epoch;
  const commit = await git(config, ['log', '-1', '--format=%ct']);
  if (commit !== undefined && /^\d+$/.test(commit)) return Number(commit);
  try {
    return Math.floor(statSync(path.join(config.root, 'VERSION')).mtimeMs / 1000);
  } catch {
    return 0;
  }
}

/**
 * `git describe --always --long --tags` of HEAD ('' outside git). `--dirty` is left out on
 * purpose: an uncommitted edit would change product.txt, and so the ISO, by itself.
 */
export async function gitReference(config: BuildConfig): Promise<string> {
  return (await git(config, ['describe', '--always', '--long', '--tags'])) ?? '';
}
