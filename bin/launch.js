// The one launcher of the buildchain's commands (./doit.sh, `npm run build`, the bins): runs
// the compiled JavaScript under dist/, never stale code. On every start it compares the stat of
// each source with the manifest of the last compile (a few ms); when a source changed it
// compiles the changed files and bundles again first (bin/compile-dist.mjs). It runs the bundle
// (dist/bundle/: one CommonJS file per CLI, compiled with V8's code cache, see runBundle,
// instead of ~160 ES modules compiled from scratch); a JavaScript `--tasks-module` gets the
// per-module tree (dist/buildchain/, which such a module imports), a TypeScript one the
// sources through tsx. When dist/ cannot be written (a read-only checkout) or TypeScript is not
// installed, it runs the sources through tsx instead, and says so once on stderr; when only
// esbuild is missing, the per-module tree. CommonJS (bin/package.json), as the commands' entry
// files: an ES module entry costs every start ~10 ms more.
'use strict';
const { closeSync, fstatSync, openSync, readFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const vm = require('node:vm');
const {
  BUNDLE_ENTRIES,
  bundleFileOf,
  distFileOf,
  distState,
  ROOT,
  statSignature,
  writeAtomic,
} = require('./dist-manifest.js');

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
  if (distState().fresh) return 'bundle';
  const { compileDist, CompileError } = await import('./compile-dist.mjs');
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
async function load(source, options = {}) {
  const wanted = options.tree ?? 'bundle';
  const ready = wanted === 'tsx' ? 'tsx' : await ensureDist();
  if (ready === 'bundle' && wanted === 'bundle' && BUNDLE_ENTRIES.includes(source))
    return runBundle(bundleFileOf(source)).exports;
  if (ready !== 'tsx') return import(pathToFileURL(distFileOf(source)).href);
  const { register } = await import('tsx/esm/api');
  register();
  return import(pathToFileURL(path.join(ROOT, source)).href);
}

/** The suffix of a bundle file's V8 code cache: `dist/bundle/main.cjs.v8cache`. */
const CODE_CACHE_SUFFIX = '.v8cache';
/** The longest run (ms) whose code cache is written (see runBundle). */
const CODE_CACHE_MAX_RUN_MS = 2000;

/**
 * Runs a bundle file (`dist/bundle/<entry>.cjs`, CommonJS) as `require` would, but compiled
 * with V8's code cache: `<file>.v8cache` holds the bytecode of the functions an earlier start
 * ran, so this start neither parses nor compiles them (an ES module cannot take a code cache
 * in Node 20). The cache starts with the bundle's stat signature: V8 itself only checks the
 * source's length, and a bundle written again (a new inode) must never meet an old cache.
 * Without a usable cache the bundle compiles as usual and the cache is written when the
 * process exits, with every function the run compiled (atomically; a read-only dist/ goes
 * without): the functions a no-op build runs, after the first short run. `cache` says which
 * happened: 'used', 'rejected' (V8 refused it: another Node.js, other flags) or 'none'.
 * @param {string} file
 * @returns {{ exports: Record<string, unknown>, cache: 'used' | 'rejected' | 'none' }}
 */
function runBundle(file) {
  // `node --enable-source-maps`: Node 20 maps the stack frames of required files only.
  if (process.sourceMapsEnabled) return { exports: createRequire(file)(file), cache: 'none' };
  const fd = openSync(file, 'r');
  let source;
  let header;
  try {
    // One open: the signature is the stat of the text read, even if the file is replaced.
    header = Buffer.from(`${statSignature(fstatSync(fd))}\n`);
    source = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  const cacheFile = file + CODE_CACHE_SUFFIX;
  /** @type {Buffer | undefined} */
  let cachedData;
  try {
    const data = readFileSync(cacheFile);
    if (data.subarray(0, header.length).equals(header)) cachedData = data.subarray(header.length);
  } catch {
    // no cache yet
  }
  // The CommonJS wrapper on the bundle's first line: line numbers (code fingerprints map
  // them to sources, lib/package-root.ts) stay the file's own.
  // No import() callback: the bundle has none (bin/compile-dist.mjs makes them require()).
  const script = new vm.Script(
    `(function (exports, require, module, __filename, __dirname) {${source}\n})`,
    { filename: file, cachedData },
  );
  const cache = cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'used';
  const module = { exports: {} };
  /** @type {Function} */ (script.runInThisContext()).call(
    module.exports,
    module.exports,
    createRequire(file),
    module,
    file,
    path.dirname(file),
  );
  if (cache !== 'used') {
    const started = performance.now();
    process.once('exit', () => {
      // Made at exit, from a short run only: V8 drops the bytecode of functions not run for a
      // while, so a long build's cache lacks the start-up code and slows later starts; then
      // the next short run (a no-op, `list`) makes it.
      if (performance.now() - started > CODE_CACHE_MAX_RUN_MS) return;
      try {
        writeAtomic(cacheFile, Buffer.concat([header, script.createCachedData()]));
      } catch {
        // a read-only or full dist/: every start compiles
      }
    });
  }
  return { exports: module.exports, cache };
}

/**
 * The form a `--tasks-module` in argv (a testing hook) needs: 'tsx' for a TypeScript one (it
 * imports the sources), 'modules' for a JavaScript one (it imports dist/buildchain/ modules),
 * 'bundle' without one.
 * @param {readonly string[]} argv
 * @returns {'bundle' | 'modules' | 'tsx'}
 */
function treeFor(argv) {
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
function hasTypeScriptTasksModule(argv) {
  return argv.some(
    (a, i) =>
      (a === '--tasks-module' && /\.[cm]?ts$/.test(argv[i + 1] ?? '')) ||
      /^--tasks-module=.*\.[cm]?ts$/.test(a),
  );
}

module.exports = {
  load,
  runBundle,
  treeFor,
  hasTypeScriptTasksModule,
};
