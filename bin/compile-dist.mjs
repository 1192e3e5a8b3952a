#!/usr/bin/env node
// Compiles `buildchain/**/*.ts` to `dist/buildchain/**/*.js` (other files are copied), so that
// the launcher starts plain JavaScript with no TypeScript loader. One file at a time with
// TypeScript's transpileModule (no type check: `npm run lint` does that; `tsc --noEmit
// --isolatedModules` passes, so a file compiles alone), relative `.ts` imports rewritten to
// `.js`. Only the files whose stat changed since the manifest are compiled again. Then the
// bundle the launcher runs (dist/bundle/, esbuild: one CommonJS file per CLI, which the
// launcher compiles with V8's code cache, instead of ~160 modules) is built again from the sources, with its line → source table for the code
// fingerprints. The per-module tree stays for what imports compiled modules one by one (a
// JavaScript --tasks-module, the benchmarks).
//
// Run by `npm ci` (the `prepare` script) and by bin/launch.js when sources changed. As a
// command: `node bin/compile-dist.mjs [--force]` prints what it did and empties dist/.cache;
// exit 0 ok, 3 when a source does not compile (its message names the file and line).
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  BUNDLE,
  BUNDLE_ENTRIES,
  BUNDLE_SOURCES,
  bundleFileOf,
  compilerSignature,
  DIST,
  distFileOf,
  distState,
  FORMAT,
  MANIFEST,
  ROOT,
  statSignature,
  writeAtomic,
} from './dist-manifest.js';

/** A source edited less than this (ms) before it was read may change again unseen in the same clock tick. */
const RACY_MS = 50;

/** A source that does not compile (a syntax error): the launcher reports it and exits 3. */
export class CompileError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'CompileError';
  }
}

/**
 * True when process `pid` runs (on this machine: dist/ is not shared between machines).
 * @param {number} pid
 */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return /** @type {NodeJS.ErrnoException} */ (err).code === 'EPERM';
  }
}

/**
 * @param {typeof import('typescript')} ts
 * @param {string} rel
 * @returns {string} the JavaScript text
 */
function transpile(ts, rel) {
  const text = readFileSync(path.join(ROOT, rel), 'utf8');
  const out = ts.transpileModule(text, {
    fileName: rel,
    reportDiagnostics: true,
    compilerOptions: {
      target: ts.ScriptTarget.ES2023,
      module: ts.ModuleKind.ES2022,
      rewriteRelativeImportExtensions: true,
      verbatimModuleSyntax: false,
      sourceMap: false,
      removeComments: false,
    },
  });
  const first = out.diagnostics?.find((d) => d.category === ts.DiagnosticCategory.Error);
  if (first !== undefined) {
    const where =
      first.file !== undefined && first.start !== undefined
        ? `:${first.file.getLineAndCharacterOfPosition(first.start).line + 1}`
        : '';
    throw new CompileError(
      `cannot compile ${rel}${where}: ${ts.flattenDiagnosticMessageText(first.messageText, '\n')}`,
    );
  }
  return out.outputText;
}

const VLQ = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * The source index of every segment of a source map's `mappings`, line by line: for each
 * generated line (0-based) the source index of its first segment, -1 for a line without one.
 * @param {string} mappings
 * @returns {number[]}
 */
export function firstSourceOfLines(mappings) {
  /** @type {number[]} */
  const out = [];
  let source = 0; // source indexes are relative to the previous segment's, across lines
  for (const line of mappings.split(';')) {
    let first = -1;
    for (const segment of line === '' ? [] : line.split(',')) {
      /** @type {number[]} */
      const fields = [];
      let value = 0;
      let shift = 0;
      for (const ch of segment) {
        const digit = VLQ.indexOf(ch);
        if (digit < 0) throw new Error(`bad source map segment ${segment}`);
        value += (digit & 31) << shift;
        if ((digit & 32) !== 0) shift += 5;
        else {
          fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      if (fields.length >= 4) {
        source += fields[1] ?? 0;
        if (first < 0) first = source;
      }
    }
    out.push(first);
  }
  return out;
}

/**
 * The line → source table of one bundle file from its source map: `[[firstLine, source]…]`
 * (1-based lines; a line with no mapping belongs to the row before it).
 * @param {string} mapText the `.map` file
 * @returns {[number, string][]}
 */
export function lineTable(mapText) {
  const map = JSON.parse(mapText);
  const sources = /** @type {string[]} */ (map.sources).map((s) =>
    path.relative(ROOT, path.resolve(BUNDLE, s)).split(path.sep).join('/'),
  );
  /** @type {[number, string][]} */
  const rows = [];
  firstSourceOfLines(map.mappings).forEach((index, line) => {
    const source = sources[index];
    if (index >= 0 && source !== undefined && rows.at(-1)?.[1] !== source)
      rows.push([line + 1, source]);
  });
  return rows;
}

/**
 * Packages loaded from a file of their own in dist/bundle/ (`vendor-<name>.cjs`: the package and
 * what it imports, one CommonJS file) instead of from node_modules, on first use as before:
 * execa is ES modules only and pulls ~40 more (loading them cost every build that runs a
 * command 100–150 ms, its vendor file ~25 ms); listr2, the console reporter, ~25 → ~12 ms;
 * yaml, on a parse the cache of lib/text/parse-yaml.ts misses (a fresh clone), ~40 → ~8 ms
 * (that module and lib/package-root.ts `requireVendored` name its file); handlebars, the
 * registry includes' template engine (images:registry-config, static-registry), ~24 → ~7 ms.
 * Not in the entry files: a larger main.cjs made every start ~5 ms slower. tar stays in
 * node_modules (rarely loaded).
 */
const VENDORED_PACKAGES = ['execa', 'listr2', 'yaml', 'handlebars'];

/** The vendor file of a package of {@link VENDORED_PACKAGES}, relative to the bundle. */
const vendorFileOf = (/** @type {string} */ name) => `vendor-${name.replace(/[@/]/g, '_')}.cjs`;

/**
 * An esbuild plugin leaving every package import external (resolved from node_modules at run
 * time), but for those of `vendored`, which import their vendor file instead.
 * @param {readonly string[]} vendored
 * @returns {import('esbuild').Plugin}
 */
function packagesExternal(vendored) {
  return {
    name: 'packages-external',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) =>
        vendored.includes(args.path)
          ? { path: `./${vendorFileOf(args.path)}`, external: true }
          : { external: true },
      );
    },
  };
}

/**
 * Builds the bundle (dist/bundle/) from the sources with esbuild: one CommonJS file per entry
 * point of BUNDLE_ENTRIES holding every module it imports (lazily imported ones are evaluated
 * on first import, as before), packages left to node_modules but for the vendor files of
 * VENDORED_PACKAGES. CommonJS, not ESM: the launcher
 * compiles it with V8's code cache (bin/launch.js), which Node 20 offers for scripts only; an
 * ESM bundle was compiled from scratch on every start. `import.meta` becomes the bundle
 * file's own (`__filename`, its URL), and the file runs in strict mode as modules do. Each file
 * is written through a temporary file and a rename; the previous bundle's files (old entries,
 * their code caches) are removed. Throws {@link CompileError} for what esbuild refuses (e.g. an
 * import of a missing module, a top-level await), naming the file and line.
 */
async function buildBundle() {
  const esbuild = await import('esbuild');
  /** @type {import('esbuild').OutputFile[]} */
  let outputFiles;
  try {
    const results = await Promise.all(
      BUNDLE_ENTRIES.map((entry) =>
        esbuild.build({
          absWorkingDir: ROOT,
          entryPoints: [entry],
          bundle: true,
          format: 'cjs',
          platform: 'node',
          target: 'node20',
          // Packages stay in node_modules, but for those of VENDORED_PACKAGES (see there).
          plugins: [packagesExternal(VENDORED_PACKAGES)],
          outdir: BUNDLE,
          entryNames: '[name]',
          outExtension: { '.js': '.cjs' },
          banner: {
            js: '"use strict";\nvar __bundle_url = require("node:url").pathToFileURL(__filename).href;',
          },
          // import() of a package becomes require(): a script's own import() needs a callback
          // that Node 20 gives only behind --experimental-vm-modules (require loads ES modules).
          supported: { 'dynamic-import': false },
          define: {
            'import.meta.url': '__bundle_url',
            'import.meta.dirname': '__dirname',
            'import.meta.filename': '__filename',
          },
          sourcemap: 'linked',
          sourcesContent: false,
          write: false,
          logLevel: 'silent',
        }),
      ),
    );
    const vendors = await Promise.all(
      VENDORED_PACKAGES.map((name) =>
        esbuild.build({
          absWorkingDir: ROOT,
          // The package's exports as `require` gives them (a CommonJS package keeps no `default`).
          stdin: {
            contents: `module.exports = require(${JSON.stringify(name)});`,
            resolveDir: ROOT,
          },
          bundle: true,
          format: 'cjs',
          platform: 'node',
          target: 'node20',
          outfile: path.join(BUNDLE, vendorFileOf(name)),
          supported: { 'dynamic-import': false },
          sourcemap: 'linked',
          sourcesContent: false,
          write: false,
          logLevel: 'silent',
        }),
      ),
    );
    outputFiles = [...results, ...vendors].flatMap((r) => r.outputFiles);
  } catch (err) {
    const first = /** @type {{ errors?: import('esbuild').Message[] }} */ (err).errors?.[0];
    if (first === undefined) throw err;
    const where = first.location === null ? '' : `${first.location.file}:${first.location.line}`;
    throw new CompileError(`cannot compile ${where}: ${first.text}`);
  }
  /** @type {Record<string, [number, string][]>} */
  const table = {};
  for (const f of outputFiles)
    if (f.path.endsWith('.map')) table[path.basename(f.path, '.map')] = lineTable(f.text);
  const entries = new Set(BUNDLE_ENTRIES.map(bundleFileOf));
  const written = new Set(outputFiles.map((f) => f.path));
  for (const f of outputFiles) if (!entries.has(f.path)) writeAtomic(f.path, f.contents);
  writeAtomic(BUNDLE_SOURCES, `${JSON.stringify(table)}\n`);
  for (const f of outputFiles) if (entries.has(f.path)) writeAtomic(f.path, f.contents);
  written.add(BUNDLE_SOURCES);
  // Another start bundling at the same time may be writing its temporary files: left alone
  // while their process lives (those of a killed one go).
  for (const name of readdirSync(BUNDLE)) {
    const writer = /\.tmp-(\d+)$/.exec(name)?.[1];
    if (written.has(path.join(BUNDLE, name)) || (writer !== undefined && alive(Number(writer))))
      continue;
    rmSync(path.join(BUNDLE, name), { force: true });
  }
}

/**
 * Brings `dist/` up to date with the sources: compiles the changed ones, removes the outputs
 * of deleted ones, builds the bundle again, then writes the manifest (last: an interrupted
 * compile leaves the old manifest, so the next start compiles again). Throws
 * {@link CompileError} for a source that does not compile (the others are still written), or
 * the fs error when `dist/` cannot be written, or ERR_MODULE_NOT_FOUND when typescript is not
 * installed. When only the bundle cannot be built (esbuild not installed), the per-module tree
 * is still brought up to date and `bundleError` says why.
 * @param {{ force?: boolean }} [options]
 * @returns {Promise<{ compiled: number, removed: number, bundled: boolean, bundleError?: string }>}
 */
export async function compileDist(options = {}) {
  const { manifest, changed, removed, fresh } = distState(options);
  if (fresh) return { compiled: 0, removed: 0, bundled: false };
  const previous = manifest?.files;
  const ts = changed.some((rel) => rel.endsWith('.ts'))
    ? (await import('typescript')).default
    : undefined;
  /** @type {Record<string, string>} */
  const files = { ...previous };
  /** @type {CompileError[]} */
  const errors = [];
  for (const rel of changed) {
    const src = path.join(ROOT, rel);
    // The stat is taken before the read: a later edit changes it, so the record is conservative.
    const st = statSync(src);
    const sig = statSignature(st);
    try {
      if (rel.endsWith('.ts') && !rel.endsWith('.d.ts') && ts !== undefined)
        writeAtomic(distFileOf(rel), transpile(ts, rel));
      else writeAtomic(distFileOf(rel), readFileSync(src));
    } catch (err) {
      if (!(err instanceof CompileError)) throw err;
      errors.push(err);
      delete files[rel];
      continue;
    }
    // Edited in the same clock tick as this read: compile it again next time.
    const racy = Math.max(st.mtimeMs, st.ctimeMs) > Date.now() - RACY_MS;
    files[rel] = racy ? `racy:${sig}` : sig;
  }
  for (const rel of removed) {
    rmSync(distFileOf(rel), { force: true });
    delete files[rel];
  }
  /** @param {boolean} bundled */
  const writeManifest = (bundled) =>
    writeAtomic(
      MANIFEST,
      `${JSON.stringify({ format: FORMAT, compiler: compilerSignature(), files, bundled })}\n`,
    );
  if (errors.length > 0) {
    writeManifest(false);
    throw new CompileError(errors.map((e) => e.message).join('\n'));
  }
  // The bundle is built from the sources as they are now: stats taken above (before the reads)
  // are conservative, an edit since then is seen by the next start.
  try {
    await buildBundle();
  } catch (err) {
    writeManifest(false);
    if (err instanceof CompileError) throw err;
    const code = /** @type {NodeJS.ErrnoException} */ (err)?.code;
    if (code !== 'ERR_MODULE_NOT_FOUND') throw err;
    return {
      compiled: changed.length,
      removed: removed.length,
      bundled: false,
      bundleError: 'esbuild is not installed (npm ci)',
    };
  }
  writeManifest(true);
  return { compiled: changed.length, removed: removed.length, bundled: true };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const t0 = performance.now();
  // Caches derived from the sources' data (lib/text/parse-yaml.ts) start afresh with npm ci.
  rmSync(path.join(DIST, '.cache'), { recursive: true, force: true });
  try {
    const r = await compileDist({ force: process.argv.includes('--force') });
    const bundle = r.bundled
      ? `, bundle → ${path.relative(ROOT, BUNDLE)}/`
      : r.bundleError === undefined
        ? ''
        : ` (no bundle: ${r.bundleError})`;
    process.stdout.write(
      `compile-dist: ${r.compiled} compiled, ${r.removed} removed${bundle} in ${((performance.now() - t0) / 1000).toFixed(2)} s → ${path.relative(ROOT, DIST)}/\n`,
    );
  } catch (err) {
    process.stderr.write(`compile-dist: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 3;
  }
}
