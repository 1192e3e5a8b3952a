// The one launcher of the buildchain's commands (./doit.sh, `npm run build`, the bins): runs
// the compiled JavaScript under dist/, never stale code. On every start it compares the stat of
// each source with the manifest of the last compile (about 1 ms); when a source changed it
// compiles the changed files first (bin/compile-dist.js). When dist/ cannot be written (a
// read-only checkout) or TypeScript is not installed, it runs the sources through tsx instead,
// and says so once on stderr.
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { distFileOf, readManifest, ROOT, scanSources, staleSources } from './dist-manifest.js';

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
 * True when dist/ is up to date (after compiling what changed); false when the sources must
 * run through tsx. Exits 3 when a source does not compile.
 */
async function ensureDist() {
  const { changed, removed } = staleSources(scanSources(), readManifest());
  if (changed.length === 0 && removed.length === 0) return true;
  const { compileDist, CompileError } = await import('./compile-dist.js');
  try {
    await compileDist();
    return true;
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
    return false;
  }
}

/**
 * Loads a buildchain module (`buildchain/cli/x.ts`, relative to the repository root): its
 * compiled file when dist/ is (made) fresh, else the source through tsx. `withTsx` asks for
 * the sources through tsx (a TypeScript `--tasks-module` must share their module instances).
 * @param {string} source
 * @param {{ withTsx?: boolean }} [options]
 * @returns {Promise<Record<string, unknown>>}
 */
export async function load(source, options = {}) {
  if (options.withTsx !== true && (await ensureDist()))
    return import(pathToFileURL(distFileOf(source)).href);
  const { register } = await import('tsx/esm/api');
  register();
  return import(pathToFileURL(path.join(ROOT, source)).href);
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
