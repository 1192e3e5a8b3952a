// The one launcher of the buildchain's commands (./doit.sh, `npm run build`, the bins): runs
// the compiled JavaScript under dist/, never stale code. On every start it compares the stat of
// each source with the manifest of the last compile (about 1 ms); when a source changed it
// compiles the changed files and bundles again first (bin/compile-dist.js). It runs the bundle
// (dist/bundle/: a few files to read instead of ~160 modules); a JavaScript `--tasks-module`
// gets the per-module tree (dist/buildchain/, which such a module imports), a TypeScript one the
// sources through tsx. When dist/ cannot be written (a read-only checkout) or TypeScript is not
// installed, it runs the sources through tsx instead, and says so once on stderr; when only
// esbuild is missing, the per-module tree.
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import {
  BUNDLE_ENTRIES,
  bundleFileOf,
  bundleFresh,
  distFileOf,
  readManifest,
  ROOT,
  scanSources,
  staleSources,
} from './dist-manifest.js';

/** Exit code of an internal error (a source that does not compile), as the CLI's. */
const EXIT_INTERNAL = 3;

/**
 * @param {unknown} err
 * @returns {string}
 */
function describe(err) {
  const code = /** @type {NodeJS.ErrnoException} */ (err)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return code === 'ERR_MODULE_NOT_FOUND' ? 'typescript is not installed (npm ci)' : message;
}

/**
 * What can run after making dist/ fresh: 'bundle', 'modules' (the per-module tree: no bundle)
 * or 'tsx' (dist/ cannot be refreshed). Exits 3 when a source does not compile.
 * @returns {Promise<'bundle' | 'modules' | 'tsx'>}
 */
async function ensureDist() {
  const manifest = readManifest();
  const { changed, removed } = staleSources(scanSources(), manifest?.files);
  if (changed.length === 0 && removed.length === 0 && bundleFresh(manifest)) return 'bundle';
  const { compileDist, CompileError } = await import('./compile-dist.js');
  try {
    const r = await compileDist();
    if (r.bundleError === undefined) return 'bundle';
    process.stderr.write(
      `note: cannot bundle the buildchain (${r.bundleError}); running ${path.relative(ROOT, distFileOf('buildchain'))}/ module by module (slower start)\n`,
    );
    return 'modules';
  } catch (err) {
    if (err instanceof CompileError) {
      process.stderr.write(
        `error: ${err.message}\nhint: fix the source (npm run lint lists every error), then run the command again\n`,
      );
      process.exit(EXIT_INTERNAL);
    }
    process.stderr.write(
      `note: cannot refresh ${path.relative(ROOT, distFileOf(''))}/ (${describe(err)}); running the TypeScript sources with tsx (slower start)\n`,
    );
    return 'tsx';
  }
}

/**
 * Loads a buildchain module (`buildchain/cli/x.ts`, relative to the repository root): for an
 * entry point of the bundle (BUNDLE_ENTRIES), its bundle file when dist/ is (made) fresh; for
 * another module, its file in the per-module compiled tree; else the source through tsx.
 * `tree` asks for another form: 'tsx' the sources (a TypeScript `--tasks-module` must share
 * their module instances), 'modules' the per-module compiled tree (a JavaScript one imports
 * those).
 * @param {string} source
 * @param {{ tree?: 'bundle' | 'modules' | 'tsx' }} [options]
 * @returns {Promise<Record<string, unknown>>}
 */
export async function load(source, options = {}) {
  const wanted = options.tree ?? 'bundle';
  const ready = wanted === 'tsx' ? 'tsx' : await ensureDist();
  if (ready === 'bundle' && wanted === 'bundle' && BUNDLE_ENTRIES.includes(source))
    return import(pathToFileURL(bundleFileOf(source)).href);
  if (ready !== 'tsx') return import(pathToFileURL(distFileOf(source)).href);
  const { register } = await import('tsx/esm/api');
  register();
  return import(pathToFileURL(path.join(ROOT, source)).href);
}

/**
 * The form a `--tasks-module` in argv (a testing hook) needs: 'tsx' for a TypeScript one (it
 * imports the sources), 'modules' for a JavaScript one (it imports dist/buildchain/ modules),
 * 'bundle' without one.
 * @param {readonly string[]} argv
 * @returns {'bundle' | 'modules' | 'tsx'}
 */
export function treeFor(argv) {
  if (hasTypeScriptTasksModule(argv)) return 'tsx';
  return argv.some((a) => a === '--tasks-module' || a.startsWith('--tasks-module='))
    ? 'modules'
    : 'bundle';
}

/**
 * True when argv names a TypeScript `--tasks-module` (a testing hook): those import the
 * sources, so the sources must run too.
 * @param {readonly string[]} argv
 */
export function hasTypeScriptTasksModule(argv) {
  return argv.some(
    (a, i) =>
      (a === '--tasks-module' && /\.[cm]?ts$/.test(argv[i + 1] ?? '')) ||
      /^--tasks-module=.*\.[cm]?ts$/.test(a),
  );
}
