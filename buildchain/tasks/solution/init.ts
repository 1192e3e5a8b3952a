/** `init`: writes a working Solution skeleton into a new (or empty) directory. */
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TaskError } from '../../engine/task.ts';
import { skeletonFiles, type SkeletonOptions } from './init-templates.ts';
import { checkProduct } from './lint-config-rules.ts';
import { formatProblems } from './problems.ts';

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
    throw err;
  }
  return Object.keys(files).sort();
}
