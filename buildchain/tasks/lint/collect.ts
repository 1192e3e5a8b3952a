/**
 * Finds the files each lint subtask checks (relative to the project root, sorted). Reads the
 * disk (one walk, first lines of scripts); called when a lint task is first evaluated (its
 * dynamic dependencies), never by a command that runs no lint task.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { walkTreeSync } from '../../lib/fs/walk.ts';

/** Never linted: dependencies (at any depth) and build, VCS, VM and coverage directories. */
const SKIPPED_TOP = new Set(['_build', 'dist', '.git', '.vagrant', 'coverage']);

/** Test inputs that are broken on purpose (fixtures, lint corpora) are not linted. */
const DELIBERATE = new Set(['fixtures', 'corpus']);

/** Directories whose extensionless files are checked for a shell shebang. */
const SHEBANG_DIRS = ['scripts', 'iso-root', '.ci', 'bin'];

const SHELL_SHEBANG = /^#!\s*(?:\/usr)?\/bin\/(?:env\s+)?(?:ba|da|k)?sh\b/;

/** The project's files (relative, `/`-separated): one walk, shared by the collectors below. */
export type ProjectFiles = readonly string[];

/**
 * Every file under `root` (a symlink to a file counts; symlinked directories are not entered),
 * except under node_modules and the skipped top-level directories; sorted. One walk of the
 * tree, where one glob per collector walked it several times on every command. fast-glob is
 * not used: one `fg.sync('**')` giving the same list took 3.9-7.5 ms against this walk's
 * 2.1-2.3 ms (about 505 files), and importing it alone costs 130-240 ms per command.
 * `under` (e.g. `packages-specs`) lists that directory only, with the same paths.
 */
export function listProjectFiles(root: string, under?: string): ProjectFiles {
  const prefix = under === undefined ? '' : `${under}/`;
  const entries = walkTreeSync(under === undefined ? root : path.join(root, under), {
    missingOk: true,
    filter: (e) =>
      e.kind !== 'dir' || (baseName(e.rel) !== 'node_modules' && !SKIPPED_TOP.has(prefix + e.rel)),
  });
  const files: string[] = [];
  for (const e of entries) {
    if (e.kind === 'file') files.push(prefix + e.rel);
    else if (e.kind === 'symlink' && statSync(e.path, { throwIfNoEntry: false })?.isFile() === true)
      files.push(prefix + e.rel);
  }
  return files.sort();
}

const segments = (rel: string): string[] => rel.split('/');
const isDeliberate = (rel: string): boolean => segments(rel).some((s) => DELIBERATE.has(s));
/** No segment starts with a dot (globs without `dot: true`). */
const isUndotted = (rel: string): boolean => segments(rel).every((s) => !s.startsWith('.'));
const baseName = (rel: string): string => rel.slice(rel.lastIndexOf('/') + 1);

function firstLine(file: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const buf = Buffer.alloc(128);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8').split('\n', 1)[0] ?? '';
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Shell scripts shipped or used: `*.sh`, `*.sh.in`, and shebang scripts in script dirs. */
export function collectShellFiles(root: string, files = listProjectFiles(root)): string[] {
  const out = files.filter((f) => {
    if (isDeliberate(f)) return false;
    const name = baseName(f);
    if (name.endsWith('.sh') || name.endsWith('.sh.in')) return true;
    return (
      SHEBANG_DIRS.some((d) => f.startsWith(`${d}/`)) &&
      !name.includes('.') &&
      SHELL_SHEBANG.test(firstLine(path.join(root, f)))
    );
  });
  return out.sort();
}

const YAML_SUFFIXES = ['.yaml', '.yml', '.yaml.in', '.sls', '.sls.in'];

/** YAML files (`*.yaml`, `*.yml`, `.yamllint`, Salt `*.sls`, `@@` templates of those). */
export function collectYamlFiles(root: string, files = listProjectFiles(root)): string[] {
  return files
    .filter(
      (f) =>
        !isDeliberate(f) &&
        (f === '.yamllint' || YAML_SUFFIXES.some((x) => baseName(f).endsWith(x))),
    )
    .sort();
}

/** RPM spec files: `packages-specs/<name>/**\/*.spec`. */
export function collectSpecFiles(
  root: string,
  files = listProjectFiles(root),
): { name: string; path: string }[] {
  return files
    .filter((p) => p.startsWith('packages-specs/') && p.endsWith('.spec') && isUndotted(p))
    .sort()
    .map((p) => ({ name: p.split('/')[1] ?? '', path: p }))
    .map((s) => (s.name.endsWith('.spec') ? { name: s.name.slice(0, -5), path: s.path } : s));
}

/** Every file under `dir` (relative to root), e.g. the Salt tree. */
export function collectTree(root: string, dir: string, files = listProjectFiles(root)): string[] {
  return files.filter((f) => f.startsWith(`${dir}/`)).sort();
}

const TS_CONFIGS = new Set(['tsconfig.json', 'eslint.config.js', 'package.json']);

/** TypeScript sources and configs that lint:ts depends on. */
export function collectTsFiles(root: string, files = listProjectFiles(root)): string[] {
  return files.filter((f) => (f.endsWith('.ts') && isUndotted(f)) || TS_CONFIGS.has(f)).sort();
}
