#!/usr/bin/env node
// Compiles `buildchain/**/*.ts` to `dist/buildchain/**/*.js` (other files are copied), so that
// the launcher starts plain JavaScript with no TypeScript loader. One file at a time with
// TypeScript's transpileModule (no type check: `npm run lint` does that; `tsc --noEmit
// --isolatedModules` passes, so a file compiles alone), relative `.ts` imports rewritten to
// `.js`. Only the files whose stat changed since the manifest are compiled again.
//
// Run by `npm ci` (the `prepare` script) and by bin/launch.js when sources changed. As a
// command: `node bin/compile-dist.js [--force]` prints what it did and empties dist/.cache;
// exit 0 ok, 3 when a source does not compile (its message names the file and line).
import {
  copyFileSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  compilerSignature,
  DIST,
  distFileOf,
  FORMAT,
  MANIFEST,
  readManifest,
  ROOT,
  scanSources,
  staleSources,
  statSignature,
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

/** @param {string} file @param {string | Buffer} data */
function writeAtomic(file, data) {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
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

/**
 * Brings `dist/` up to date with the sources: compiles the changed ones, removes the outputs
 * of deleted ones, then writes the manifest (last: an interrupted compile leaves the old
 * manifest, so the next start compiles again). Throws {@link CompileError} for a source that
 * does not compile (the others are still written), or the fs error when `dist/` cannot be
 * written, or ERR_MODULE_NOT_FOUND when typescript is not installed.
 * @param {{ force?: boolean }} [options]
 * @returns {Promise<{ compiled: number, removed: number }>}
 */
export async function compileDist(options = {}) {
  const sources = scanSources();
  const previous = options.force === true ? undefined : readManifest();
  const { changed, removed } = staleSources(sources, previous);
  if (changed.length === 0 && removed.length === 0) return { compiled: 0, removed: 0 };
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
      else {
        mkdirSync(path.dirname(distFileOf(rel)), { recursive: true });
        copyFileSync(src, `${distFileOf(rel)}.tmp-${process.pid}`);
        renameSync(`${distFileOf(rel)}.tmp-${process.pid}`, distFileOf(rel));
      }
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
  writeAtomic(
    MANIFEST,
    `${JSON.stringify({ format: FORMAT, compiler: compilerSignature(), files })}\n`,
  );
  if (errors.length > 0) throw new CompileError(errors.map((e) => e.message).join('\n'));
  return { compiled: changed.length, removed: removed.length };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const t0 = performance.now();
  // Caches derived from the sources' data (lib/text/parse-yaml.ts) start afresh with npm ci.
  rmSync(path.join(DIST, '.cache'), { recursive: true, force: true });
  try {
    const r = await compileDist({ force: process.argv.includes('--force') });
    process.stdout.write(
      `compile-dist: ${r.compiled} compiled, ${r.removed} removed in ${((performance.now() - t0) / 1000).toFixed(2)} s → ${path.relative(ROOT, DIST)}/\n`,
    );
  } catch (err) {
    process.stderr.write(`compile-dist: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 3;
  }
}
