/** Build metadata from the environment: the reproducible timestamp and the git reference. */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import type { BuildConfig } from '../../config/config.ts';
import { TaskError } from '../../engine/task.ts';

function git(config: BuildConfig, args: readonly string[]): string | undefined {
  try {
    return execFileSync(config.tools.git?.bin ?? 'git', ['-C', config.root, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

/**
 * Seconds since the epoch for every date of the build: SOURCE_DATE_EPOCH, else the last git
 * commit time, else the VERSION file's mtime. Stable across reruns, so never forces a rebuild.
 */
export function buildEpoch(config: BuildConfig): number {
  const env = config.env.SOURCE_DATE_EPOCH ?? '';
  if (env !== '') {
    if (!/^\d+$/.test(env)) {
      throw new TaskError(
        'invalid-input',
        `SOURCE_DATE_EPOCH='${env}' is not a number of seconds`,
        {
          hint: 'Set SOURCE_DATE_EPOCH to an integer, e.g. $(git log -1 --format=%ct), or unset it.',
        },
      );
    }
    return Number(env);
  }
  const commit = git(config, ['log', '-1', '--format=%ct']);
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
export function gitReference(config: BuildConfig): string {
  return git(config, ['describe', '--always', '--long', '--tags']) ?? '';
}
