/** `init`: writes a working Solution skeleton into a new (or empty) directory. */
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TaskError } from '../../../engine/task.ts';
import { statIfReachable } from '../../../lib/fs/stat.ts';
import { skeletonFiles, type SkeletonOptions } from './init-templates.ts';
import { checkProduct } from '../lint/lint-config-rules.ts';
import { formatProblems } from '../lint/problems.ts';

/** Creates the skeleton in `dir`; throws TaskError `invalid-input` on bad name/version or a non-empty dir. */
export async function initSolution(dir: string, o: SkeletonOptions): Promise<string[]> {
  const target = path.resolve(dir);
  const problems = checkProduct({
    name: o.name,
    version: o.version,
    requireMetalK8s: o.requireMetalK8s ?? '>=2.4.0',
    archiveLayoutVersion: 1,
    manifestYaml: false,
    images: [],
  });
  if (problems.length > 0)
    throw new TaskError('invalid-input', formatProblems(problems), {
      hint: 'pick another --name or --version',
    });
  checkTargetPath(target);
  const existing = await readdir(target).catch(() => undefined);
  if (existing !== undefined && existing.length > 0) {
    throw new TaskError('invalid-input', `${target} exists and is not empty`, {
      hint: 'choose a new directory',
    });
  }
  const files = skeletonFiles(o);
  const staging = `${target}.init-${process.pid}`;
  try {
    for (const [rel, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(staging, rel)), { recursive: true });
      await writeFile(path.join(staging, rel), text);
    }
    if (existing !== undefined) await rm(target, { recursive: true });
    await rename(staging, target);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code === undefined) throw err;
    throw new TaskError('invalid-input', `cannot create ${target} (${code}): nothing was written`, {
      hint: 'check that its parent directory is writable and has free space, or choose another directory',
    });
  }
  return Object.keys(files).sort();
}

/**
 * Throws `invalid-input` when `target` exists and is not a directory, or when one of its
 * existing ancestors is not a directory (a regular file cannot hold the Solution).
 */
function checkTargetPath(target: string): void {
  const st = statIfReachable(target);
  if (st !== undefined) {
    if (st.isDirectory()) return;
    throw new TaskError('invalid-input', `${target} exists and is not a directory`, {
      hint: 'choose a new directory (or an empty one) for the Solution',
    });
  }
  for (let dir = path.dirname(target); ; dir = path.dirname(dir)) {
    const parent = statIfReachable(dir);
    if (parent?.isDirectory() === true) return;
    if (parent !== undefined) {
      throw new TaskError('invalid-input', `cannot create ${target}: ${dir} is not a directory`, {
        hint: `choose a path whose parents are directories (${dir} is a file)`,
      });
    }
    if (path.dirname(dir) === dir) return;
  }
}
