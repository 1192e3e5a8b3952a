/**
 * Where `build` may write, checked before anything runs: `-o OUT.iso` is a new or regular file
 * in an existing directory, and neither it nor `--work-dir` lies in the Solution's own tree
 * (except under its `_build/`, which lint and the build key skip): an output there would be
 * read back as part of the Solution (a lint finding, a build key that changes every run, image
 * layouts inside a build context).
 */
import path from 'node:path';
import { isAtOrInside, resolveReal } from '../../../lib/fs/fence.ts';
import { statIfReachable } from '../../../lib/fs/stat.ts';
import { SHA256SUM_FILE } from '../build/checksum.ts';

/** A path `build` refuses, and what to do instead. */
export interface OutputPathProblem {
  readonly message: string;
  readonly fix: string;
}

/** True when `p` (resolved) is in the Solution tree `dir` but not under its `_build/`. */
function isInSolutionTree(dir: string, p: string): boolean {
  const real = resolveReal(p);
  return (
    isAtOrInside(resolveReal(dir), real) &&
    !isAtOrInside(resolveReal(path.join(dir, '_build')), real)
  );
}

/** Why `-o output` cannot be the ISO of the Solution in `dir`, or undefined. */
export function outputPathProblem(dir: string, output: string): OutputPathProblem | undefined {
  const abs = path.resolve(output);
  const st = statIfReachable(abs);
  if (st?.isDirectory() === true) {
    return {
      message: `-o ${output} is a directory`,
      fix: `give the path of the ISO file, e.g. -o ${path.join(output, 'my-solution.iso')}`,
    };
  }
  if (st !== undefined && !st.isFile()) {
    return {
      message: `-o ${output} exists and is not a regular file`,
      fix: 'give the path of a new ISO file',
    };
  }
  if (path.basename(abs) === SHA256SUM_FILE) {
    return {
      message: `-o ${output}: ${SHA256SUM_FILE} is the checksum file written beside the ISO`,
      fix: 'name the ISO file otherwise, e.g. my-solution.iso',
    };
  }
  const parent = path.dirname(abs);
  const parentStat = statIfReachable(parent);
  // The Solution's own _build/ is created by the build, as for the default output.
  if (
    parentStat === undefined &&
    !isAtOrInside(resolveReal(path.join(dir, '_build')), resolveReal(parent))
  ) {
    return {
      message: `-o ${output}: the directory ${parent} does not exist`,
      fix: `create it first (mkdir -p ${parent}) or fix -o`,
    };
  }
  if (parentStat !== undefined && !parentStat.isDirectory()) {
    return {
      message: `-o ${output}: ${parent} is not a directory`,
      fix: 'write the ISO into an existing directory',
    };
  }
  if (isInSolutionTree(dir, abs)) {
    return {
      message: `-o ${output} is inside the Solution directory ${dir}: the next lint and build would read it as part of the Solution`,
      fix: `write the ISO outside ${dir}, or under ${path.join(dir, '_build')}/ (the default)`,
    };
  }
  return undefined;
}

/** Why `--work-dir workDir` cannot be the work directory of the Solution in `dir`, or undefined. */
export function workDirProblem(dir: string, workDir: string): OutputPathProblem | undefined {
  const st = statIfReachable(path.resolve(workDir));
  if (st !== undefined && !st.isDirectory()) {
    return {
      message: `--work-dir ${workDir} exists and is not a directory`,
      fix: 'give a directory (it is created when missing)',
    };
  }
  if (isInSolutionTree(dir, workDir)) {
    return {
      message: `--work-dir ${workDir} is inside the Solution directory ${dir}: its image layouts and contexts would be read as part of the Solution`,
      fix: `use a directory outside ${dir}, or under ${path.join(dir, '_build')}/ (the default)`,
    };
  }
  return undefined;
}
