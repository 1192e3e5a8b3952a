// The compiled tree's bookkeeping, shared by the launcher (bin/launch.js, on every start) and
// the compiler (bin/compile-dist.mjs): which sources exist and the stat of each when it was
// compiled. Plain JavaScript with no dependency: it runs before anything is compiled. CommonJS
// (bin/package.json), as the launcher: an ES module entry costs every start ~10 ms more.
'use strict';
const {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} = require('node:fs');
const path = require('node:path');

/** The repository root (this file is `<root>/bin/dist-manifest.js`). */
const ROOT = path.resolve(__dirname, '..');
/** The sources compiled, relative to {@link ROOT}. */
const SOURCE_DIR = 'buildchain';
/** The compiled tree (git-ignored): `dist/buildchain/**` mirrors `buildchain/**`. */
const DIST = path.join(ROOT, 'dist');
/**
 * Written last by a compile: `{ format, compiler, files: { "buildchain/x.ts": "<stat signature>" },
 * bundled }` (`compiler`: the signature of bin/compile-dist.mjs, whose edit recompiles
 * everything; `bundled`: true when {@link BUNDLE} was built from exactly these files).
 */
const MANIFEST = path.join(DIST, '.manifest.json');
/** Bumped when the compiler's output changes for the same sources: everything recompiles. */
const FORMAT = 3;
/**
 * The bundle the launcher runs (esbuild): one CommonJS file per entry point of
 * {@link BUNDLE_ENTRIES} (`main.cjs`, …) holding all the code it may import, its V8 code cache
 * (`main.cjs.v8cache`, made by the launcher: see bin/launch.js) and {@link BUNDLE_SOURCES}.
 * Starting it reads two files instead of compiling ~160 modules.
 */
const BUNDLE = path.join(DIST, 'bundle');
/** The sources that are entry points of the bundle: the CLIs and the ISO writer's worker. */
const BUNDLE_ENTRIES = [
  'buildchain/cli/main.ts',
  'buildchain/cli/solution.ts',
  'buildchain/cli/static-registry.ts',
  'buildchain/media/iso/iso-md5-worker.ts',
];
/**
 * The bundle's line → source table, made from esbuild's source maps:
 * `{ "main.cjs": [[firstLine, "buildchain/x.ts"], …] }` (1-based lines, ascending; a line
 * belongs to the last row at or before it). Code fingerprints map a stack frame in a bundle file
 * back to its TypeScript module with it (buildchain/lib/package-root.ts).
 */
const BUNDLE_SOURCES = path.join(BUNDLE, 'sources.json');

/**
 * What must change when a file's content changes: mtime and ctime (ms, with sub-ms digits),
 * size and inode. ctime cannot be set back by hand, so an edit whose mtime was restored
 * (`touch -r`, `cp -p`) is still seen.
 * @param {import('node:fs').Stats} st
 */
function statSignature(st) {
  return `${st.mtimeMs}/${st.ctimeMs}/${st.size}/${st.ino}`;
}

/**
 * Writes `file` whole or not at all: through `<file>.tmp-<pid>` and a rename, the temporary file
 * removed when the write fails (a rebuild sweeps those of a killed process: compile-dist).
 * @param {string} file
 * @param {string | Buffer} data
 */
function writeAtomic(file, data) {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Every file under `buildchain/` with its stat signature (one readdir per directory and one
 * stat per file: about 1 ms for the buildchain's 250 files).
 * @returns {Map<string, string>} relative path (with `/`) → signature
 */
function scanSources() {
  /** @type {Map<string, string>} */
  const out = new Map();
  // Paths by concatenation: path.join per file was a third of this (cold) walk at start-up.
  const root = ROOT + path.sep;
  /** @param {string} rel */
  const walk = (rel) => {
    for (const e of readdirSync(root + rel, { withFileTypes: true })) {
      const child = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(child);
      else if (e.isFile() || e.isSymbolicLink())
        out.set(child, statSignature(statSync(root + child)));
    }
  };
  walk(SOURCE_DIR);
  return out;
}

/** The stat signature of the compiler (bin/compile-dist.mjs). */
function compilerSignature() {
  return statSignature(statSync(path.join(ROOT, 'bin', 'compile-dist.mjs')));
}

/**
 * The manifest of the last compile, or undefined when there is none (or an unreadable one, one
 * of another format or written by another version of the compiler): then everything compiles.
 * `bundled` is false when the bundle was not built from `files` (a failed bundle step).
 * @returns {{ files: Record<string, string>, bundled: boolean } | undefined}
 */
function readManifest() {
  try {
    const parsed = JSON.parse(readFileSync(MANIFEST, 'utf8'));
    return parsed?.format === FORMAT &&
      parsed.compiler === compilerSignature() &&
      typeof parsed.files === 'object' &&
      parsed.files !== null
      ? { files: parsed.files, bundled: parsed.bundled === true }
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Sources whose compiled file is missing or older than the source, and compiled files whose
 * source is gone. Both empty: `dist/` runs exactly the sources.
 * @param {Map<string, string>} sources from {@link scanSources}
 * @param {Record<string, string> | undefined} compiled from {@link readManifest}
 */
function staleSources(sources, compiled) {
  /** @type {string[]} */
  const changed = [];
  for (const [rel, sig] of sources) if (compiled?.[rel] !== sig) changed.push(rel);
  /** @type {string[]} */
  const removed = [];
  for (const rel of Object.keys(compiled ?? {})) if (!sources.has(rel)) removed.push(rel);
  return { changed, removed };
}

/**
 * The bundle file of an entry point of {@link BUNDLE_ENTRIES}: `buildchain/cli/main.ts` →
 * `<root>/dist/bundle/main.cjs`.
 * @param {string} rel
 */
function bundleFileOf(rel) {
  return path.join(BUNDLE, `${path.basename(rel, '.ts')}.cjs`);
}

/**
 * The compiled file of a source: `buildchain/a/b.ts` → `<root>/dist/buildchain/a/b.js` (other
 * files keep their name).
 * @param {string} rel
 */
function distFileOf(rel) {
  const out = rel.endsWith('.ts') && !rel.endsWith('.d.ts') ? `${rel.slice(0, -3)}.js` : rel;
  return path.join(DIST, out);
}

/**
 * True when the manifest says the bundle was built from the recorded sources and its entry
 * files are there.
 * @param {{ bundled: boolean } | undefined} manifest from {@link readManifest}
 */
function bundleFresh(manifest) {
  return manifest?.bundled === true && BUNDLE_ENTRIES.every((e) => existsSync(bundleFileOf(e)));
}

/**
 * What a compile has to do: the last compile's manifest (none with `force`: everything
 * compiles), the sources changed and removed since (see {@link staleSources}), and `fresh` when
 * there is nothing to do (dist/ runs exactly the sources, the bundle was built from them).
 * @param {{ force?: boolean }} [options]
 */
function distState(options = {}) {
  const manifest = options.force === true ? undefined : readManifest();
  const { changed, removed } = staleSources(scanSources(), manifest?.files);
  const fresh = changed.length === 0 && removed.length === 0 && bundleFresh(manifest);
  return { manifest, changed, removed, fresh };
}

module.exports = {
  writeAtomic,
  ROOT,
  SOURCE_DIR,
  DIST,
  MANIFEST,
  FORMAT,
  BUNDLE,
  BUNDLE_ENTRIES,
  BUNDLE_SOURCES,
  statSignature,
  scanSources,
  compilerSignature,
  readManifest,
  staleSources,
  bundleFileOf,
  distFileOf,
  bundleFresh,
  distState,
};
