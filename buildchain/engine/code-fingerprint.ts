/**
 * Code-aware fingerprints of function actions: a function action's identity includes a hash of
 * the module that defined it and of every project module it imports (transitively, relative
 * imports only), so editing the code of an action re-runs exactly the tasks whose code changed.
 * Module contents are hashed through the {@link FileHasher}'s stat cache, and their import
 * lists are kept in the state next to their content hash: a no-op run reads no module whose
 * stat is unchanged. Compiled modules (dist/, see bin/launch.js) count as their TypeScript
 * sources, bundle frames as the source esbuild put at their line (dist/bundle/sources.json), so
 * the bundled, the compiled and the tsx-run buildchain share their fingerprints.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isBundleFile, PACKAGE_ROOT, sourceOfFrame } from '../lib/package-root.ts';
import { hashBytes, hashString, NEEDS_HASHING, type FileHasher } from './fingerprint.ts';

/**
 * The engine's source directory: frames of its modules are not action code, whether they run
 * from the sources, from dist/buildchain/engine/ or from a bundle chunk (mapped to their source
 * first).
 */
const ENGINE_SOURCE_DIR = path.join(PACKAGE_ROOT, 'buildchain', 'engine');

// `import … from './x.ts'`, `export … from './x.ts'`, `import('./x.ts')`, `import './x.ts'`.
const IMPORT_RE = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]+)\1/g;

/** A stack frame's file: its path, and its source module unless it is a bundle file. */
interface FrameFile {
  readonly file: string;
  /** Undefined for a bundle file: the module depends on the line. */
  readonly source: string | undefined;
}

/** Per stack frame file name: its file, or null when it is not a file (node:…). */
const frameFiles = new Map<string, FrameFile | null>();
/** Whether a source module is the engine's. */
const engineSources = new Map<string, boolean>();

/** The source module of a stack frame (`name`: its file), or null for a frame not in a file. */
function frameSource(name: string, site: NodeJS.CallSite): string | null {
  let f = frameFiles.get(name);
  if (f === undefined) {
    const file = name.startsWith('file:') ? fileURLToPath(name) : name;
    f =
      name.startsWith('node:') || !path.isAbsolute(file)
        ? null
        : { file, source: isBundleFile(file) ? undefined : sourceOfFrame(file, 0) };
    frameFiles.set(name, f);
  }
  if (f === null) return null;
  // The line only for a bundle frame (V8 computes it from the frame's position).
  return f.source ?? sourceOfFrame(f.file, site.getLineNumber() ?? 0);
}

function isEngineSource(source: string): boolean {
  let engine = engineSources.get(source);
  if (engine === undefined) {
    engine = path.dirname(source) === ENGINE_SOURCE_DIR;
    engineSources.set(source, engine);
  }
  return engine;
}

/** Receives the call sites of {@link captureSites} (an object, as captureStackTrace wants). */
const holder: { stack?: unknown } = {};
const asSites = (_e: Error, sites: NodeJS.CallSite[]): NodeJS.CallSite[] => sites;

/** The call sites above `below` (a function on the stack), at most `limit` of them. */
function captureSites(limit: number, below: (...args: never[]) => unknown): NodeJS.CallSite[] {
  const saved = Error.prepareStackTrace; // eslint-disable-line @typescript-eslint/unbound-method -- restored as is
  const savedLimit = Error.stackTraceLimit;
  try {
    Error.stackTraceLimit = limit;
    Error.prepareStackTrace = asSites;
    Error.captureStackTrace(holder, below);
    return holder.stack as NodeJS.CallSite[];
  } finally {
    holder.stack = undefined;
    Error.prepareStackTrace = saved;
    Error.stackTraceLimit = savedLimit;
  }
}

/**
 * Frames captured first: `fn` (engine) and its caller; only the caller when `fn` says where it
 * is (`callerModule(fn)`). A deeper engine helper calling `fn` makes the search capture the
 * whole stack again.
 */
const FIRST_LIMIT = 2;
const WHOLE_STACK = 64;

/** The module of the first of `sites` outside the engine, null when there is none. */
function firstOutside(sites: readonly NodeJS.CallSite[]): string | null {
  for (const site of sites) {
    const name = site.getFileName();
    if (name === null) continue;
    const source = frameSource(name, site);
    if (source !== null && !isEngineSource(source)) return source;
  }
  return null;
}

/**
 * The TypeScript module of the first stack frame outside the engine (the module calling `fn`):
 * a compiled module counts as its source, a bundle frame as the source esbuild put at its line.
 * Runs once per `fn()` call, so frame files are memoised and the stack is captured shallow:
 * given `caller`, the engine function calling this one, a single frame (its caller's) first.
 */
export function callerModule(caller?: (...args: never[]) => unknown): string | undefined {
  if (caller !== undefined) {
    const sites = captureSites(1, caller);
    const found = firstOutside(sites);
    if (found !== null || sites.length < 1) return found ?? undefined;
  } else {
    const sites = captureSites(FIRST_LIMIT, callerModule);
    const found = firstOutside(sites);
    if (found !== null || sites.length < FIRST_LIMIT) return found ?? undefined;
  }
  return firstOutside(captureSites(WHOLE_STACK, callerModule)) ?? undefined;
}

function isActionCode(file: string): boolean {
  return (
    !file.startsWith(ENGINE_SOURCE_DIR + path.sep) &&
    !file.includes(`${path.sep}node_modules${path.sep}`)
  );
}

/** Project modules a module's text imports (relative specifiers, resolved). */
function parseImports(file: string, text: string): string[] {
  const found = new Set<string>();
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[2];
    if (spec === undefined) continue;
    const target = path.resolve(path.dirname(file), spec);
    if (isActionCode(target)) found.add(target);
  }
  return [...found];
}

/** Per-run memo of module closures and their hashes, over one {@link FileHasher}. */
export class CodeFingerprints {
  private readonly hasher: FileHasher;
  private readonly imports = new Map<string, readonly string[]>();
  private readonly closures = new Map<string, readonly string[]>();
  private readonly hashes = new Map<string, string>();
  /** {@link peek} as a function (one per run, not one closure per task). */
  readonly peekHash = (module: string): string | undefined => this.peek(module);

  constructor(hasher: FileHasher) {
    this.hasher = hasher;
  }

  /**
   * Project modules `file` imports directly: from the state when the file's stat (hence its
   * content hash) is unchanged, else parsed from its text (and remembered with its hash).
   */
  private importsOf(file: string): readonly string[] {
    let out = this.imports.get(file);
    if (out !== undefined) return out;
    const known = this.hasher.peek(file);
    const rec = this.hasher.modules.get(file);
    if (typeof known === 'string' && rec?.[0] === known) out = rec[1];
    else {
      let bytes: Buffer | undefined;
      try {
        bytes = readFileSync(file);
      } catch {
        // A module that vanished since it was loaded: its hash ('' in the closure) says so.
      }
      out = bytes === undefined ? [] : parseImports(file, bytes.toString('utf8'));
      if (bytes !== undefined) this.hasher.rememberModule(file, [hashBytes(bytes), [...out]]);
    }
    this.imports.set(file, out);
    return out;
  }

  /** `module` and every project module it imports, transitively, sorted. */
  closureOf(module: string): readonly string[] {
    let out = this.closures.get(module);
    if (out !== undefined) return out;
    const seen = new Set<string>([module]);
    const queue = [module];
    for (let f = queue.pop(); f !== undefined; f = queue.pop()) {
      for (const dep of this.importsOf(f)) {
        if (!seen.has(dep)) {
          seen.add(dep);
          queue.push(dep);
        }
      }
    }
    out = [...seen].sort();
    this.closures.set(module, out);
    return out;
  }

  /** The code hash of `module` when every file of its closure is known from the stat cache. */
  peek(module: string): string | undefined {
    const known = this.hashes.get(module);
    if (known !== undefined) return known;
    const parts: string[] = [];
    for (const f of this.closureOf(module)) {
      const h = this.hasher.peek(f);
      if (h === NEEDS_HASHING) return undefined;
      parts.push(`${f} ${h ?? ''}`);
    }
    return this.remember(module, parts);
  }

  /** The code hash of `module`, reading files whose stat changed. */
  async hash(module: string): Promise<string> {
    const known = this.peek(module);
    if (known !== undefined) return known;
    const parts: string[] = [];
    for (const f of this.closureOf(module)) parts.push(`${f} ${(await this.hasher.hash(f)) ?? ''}`);
    return this.remember(module, parts);
  }

  private remember(module: string, parts: readonly string[]): string {
    const h = hashString(parts.join('\n'));
    this.hashes.set(module, h);
    return h;
  }
}

const byHasher = new WeakMap<FileHasher, CodeFingerprints>();

/** The code fingerprints sharing `hasher`'s stat cache (one per hasher, i.e. per run). */
export function codeFingerprintsFor(hasher: FileHasher): CodeFingerprints {
  let c = byHasher.get(hasher);
  if (c === undefined) {
    c = new CodeFingerprints(hasher);
    byHasher.set(hasher, c);
  }
  return c;
}
