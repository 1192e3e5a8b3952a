/**
 * Finds the files each lint subtask checks (relative to the project root, sorted). Reads the
 * disk (globs, first lines); called when tasks are created, so it must stay cheap.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import fg from 'fast-glob';

const IGNORE = [
  '**/node_modules/**',
  '_build/**',
  'dist/**',
  '.git/**',
  '.vagrant/**',
  'coverage/**',
];

/** Test inputs that are broken on purpose (fixtures, lint corpora) are not linted. */
const DELIBERATE = ['**/fixtures/**', '**/corpus/**'];

/** Directories whose extensionless files are checked for a shell shebang. */
const SHEBANG_DIRS = ['scripts', 'iso-root', '.ci', 'bin'];

const SHELL_SHEBANG = /^#!\s*(?:\/usr)?\/bin\/(?:env\s+)?(?:ba|da|k)?sh\b/;

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
export function collectShellFiles(root: string): string[] {
  const named = fg.sync(['**/*.sh', '**/*.sh.in'], {
    cwd: root,
    dot: true,
    ignore: [...IGNORE, ...DELIBERATE],
  });
  const candidates = fg.sync(
    SHEBANG_DIRS.map((d) => `${d}/**/*`),
    { cwd: root, dot: true, ignore: [...IGNORE, ...DELIBERATE, '**/*.*'] },
  );
  const shebang = candidates.filter((f) => SHELL_SHEBANG.test(firstLine(path.join(root, f))));
  return [...new Set([...named, ...shebang])].sort();
}

/** YAML files (`*.yaml`, `*.yml`, `.yamllint`, Salt `*.sls`, `@@` templates of those). */
export function collectYamlFiles(root: string): string[] {
  return fg
    .sync(['**/*.yaml', '**/*.yml', '**/*.yaml.in', '**/*.sls', '**/*.sls.in', '.yamllint'], {
      cwd: root,
      dot: true,
      ignore: [...IGNORE, ...DELIBERATE],
    })
    .sort();
}

/** RPM spec files: `packages-specs/<name>/**\/*.spec`. */
export function collectSpecFiles(root: string): { name: string; path: string }[] {
  return fg
    .sync(['packages-specs/**/*.spec'], { cwd: root, ignore: IGNORE })
    .sort()
    .map((p) => ({ name: p.split('/')[1] ?? '', path: p }))
    .map((s) => (s.name.endsWith('.spec') ? { name: s.name.slice(0, -5), path: s.path } : s));
}

/** Every file under `dir` (relative to root), e.g. the Salt tree. */
export function collectTree(root: string, dir: string): string[] {
  return fg.sync([`${dir}/**/*`], { cwd: root, dot: true, ignore: IGNORE }).sort();
}

/** TypeScript sources and configs that lint:ts depends on. */
export function collectTsFiles(root: string): string[] {
  return fg
    .sync(['**/*.ts', 'tsconfig.json', 'eslint.config.js', 'package.json'], {
      cwd: root,
      dot: false,
      ignore: IGNORE,
    })
    .sort();
}
