/**
 * The files a local image build reads, checked on disk: `build.context` must resolve (symlinks
 * followed) to a directory inside the repository, `build.file` (or the default Containerfile /
 * Dockerfile) to a regular file inside the repository, and no symlink of the context may lead
 * out of the repository. So nothing of the build host outside the repository reaches an image.
 */
import { lstatSync, statSync } from 'node:fs';
import path from 'node:path';
import { TaskError } from '../engine/task.ts';
import { isAtOrInside, resolveReal } from '../lib/fs/fence.ts';
import { walkTreeSync } from '../lib/fs/walk.ts';
import type { ImageEntry } from './content-types.ts';

/** What the entry's name says in messages: `image hello:1.0`. */
function label(entry: ImageEntry): string {
  return `image ${entry.name}:${entry.version}`;
}

function kindOf(p: string): 'dir' | 'file' | 'other' | 'missing' {
  const st = statSync(p, { throwIfNoEntry: false });
  if (st === undefined) return 'missing';
  return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
}

/** Symlinks under `dir` (not followed) whose target resolves outside `realRoot`. */
function escapingLinks(dir: string, realRoot: string): { link: string; target: string }[] {
  const out: { link: string; target: string }[] = [];
  for (const e of walkTreeSync(dir)) {
    if (e.kind !== 'symlink') continue;
    const link = e.path;
    const target = resolveReal(link);
    if (!isAtOrInside(realRoot, target)) out.push({ link, target });
  }
  return out.sort((a, b) => (a.link < b.link ? -1 : 1));
}

/** The Containerfile a build uses: `file` when given, else the first of Containerfile, Dockerfile that exists. */
function chosenFile(contextDir: string, file: string | undefined): string | undefined {
  if (file !== undefined) return path.resolve(contextDir, file);
  return ['Containerfile', 'Dockerfile']
    .map((c) => path.join(contextDir, c))
    .find((p) => lstatSync(p, { throwIfNoEntry: false }) !== undefined);
}

/**
 * Problems of the build paths of a local image (none for a remote one), each naming `listFile`,
 * the image, the key and the fix. `root` is the repository root.
 */
export function buildPathProblems(root: string, entry: ImageEntry, listFile: string): string[] {
  const build = entry.build;
  if (build === undefined) return [];
  const at = `${listFile}: ${label(entry)}`;
  const realRoot = resolveReal(root);
  const contextDir = path.resolve(root, build.context);
  const realContext = resolveReal(contextDir);
  if (!isAtOrInside(realRoot, realContext)) {
    return [
      `${at}: build.context "${build.context}" resolves to ${realContext}, outside the repository ${realRoot}; ` +
        'make the build context a directory inside the repository (not a symlink leading out of it)',
    ];
  }
  const kind = kindOf(realContext);
  if (kind !== 'dir') {
    return [
      `${at}: build.context "${build.context}" ${kind === 'missing' ? 'does not exist' : 'is not a directory'}; ` +
        'create the directory with a Containerfile, or fix build.context',
    ];
  }
  const problems = escapingLinks(realContext, realRoot).map(
    (l) =>
      `${at}: build.context "${build.context}" holds the symlink ${path.relative(realContext, l.link)} ` +
      `resolving to ${l.target}, outside the repository; copy the file into the repository or remove the link`,
  );
  const key =
    build.file === undefined ? 'Containerfile or Dockerfile' : `build.file "${build.file}"`;
  const file = chosenFile(contextDir, build.file);
  if (file === undefined) {
    return [
      ...problems,
      `${at}: build context ${build.context} has no ${key}; create it or fix build.context`,
    ];
  }
  const realFile = resolveReal(file);
  if (!isAtOrInside(realRoot, realFile)) {
    problems.push(
      `${at}: ${key} resolves to ${realFile}, outside the repository ${realRoot}; ` +
        'point build.file at a Containerfile inside the build context or the repository',
    );
  } else if (kindOf(realFile) !== 'file') {
    const missing = kindOf(realFile) === 'missing';
    problems.push(
      `${at}: ${key} ${missing ? `does not exist in ${build.context}` : 'is not a regular file'}; ` +
        'create it or fix build.file (a path relative to build.context)',
    );
  }
  return problems;
}

/**
 * The Containerfile of a build context: `file` (relative to `contextDir`) when given, else
 * `Containerfile`, else `Dockerfile`; undefined when none exists. With `fence`, the chosen file
 * must resolve (symlinks followed) inside it and be a regular file, else `invalid-input`.
 */
export function buildFileOfSync(
  contextDir: string,
  file?: string,
  fence?: string,
): string | undefined {
  const chosen = chosenFile(contextDir, file);
  if (chosen === undefined || kindOf(chosen) === 'missing') return undefined;
  if (fence !== undefined) {
    const real = resolveReal(chosen);
    if (!isAtOrInside(resolveReal(fence), real) || kindOf(real) !== 'file') {
      throw new TaskError(
        'invalid-input',
        `${chosen} resolves to ${real}: not a regular file inside ${fence}`,
        {
          hint: 'keep the Containerfile a regular file inside the build context',
        },
      );
    }
  }
  return chosen;
}
