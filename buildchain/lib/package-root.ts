/**
 * Where the running buildchain lives. Its sources run from `<root>/buildchain/` (tsx, tests);
 * the launcher runs the same modules bundled into `<root>/dist/bundle/` (entry files and shared
 * chunks, flat) or compiled one by one under `<root>/dist/buildchain/` (bin/compile-dist.mjs,
 * which writes `dist/.manifest.json`). All three give the same root.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const here = import.meta.dirname;
/** `<root>/dist` from the bundle (`dist/bundle`), else two levels up (`buildchain/lib`). */
const above =
  path.basename(here) === 'bundle' ? path.dirname(here) : path.resolve(here, '..', '..');

/** The compiled tree (`<root>/dist`) when this code runs from it; undefined from the sources. */
export const DIST_ROOT: string | undefined =
  path.basename(above) === 'dist' && existsSync(path.join(above, '.manifest.json'))
    ? above
    : undefined;

/** The repository (npm package) root: holds package.json, buildchain/, bin/. */
export const PACKAGE_ROOT: string = DIST_ROOT === undefined ? above : path.dirname(DIST_ROOT);

/** The bundle's directory (`<root>/dist/bundle`) when this code runs from it. */
export const BUNDLE_DIR: string | undefined =
  DIST_ROOT !== undefined && here === path.join(DIST_ROOT, 'bundle') ? here : undefined;

/**
 * A package that `require` loads at run time (not imported: e.g. yaml, loaded only on a parse
 * cache miss): from its vendor file when running bundled (`dist/bundle/vendor-<name>.cjs`, the
 * package in one file, see VENDORED_PACKAGES in bin/compile-dist.mjs), else from node_modules.
 */
export function requireVendored(name: 'yaml'): unknown {
  const req = createRequire(import.meta.url);
  return BUNDLE_DIR === undefined ? req(name) : req(path.join(BUNDLE_DIR, `vendor-${name}.cjs`));
}

/**
 * A file of the buildchain's tree that is not code (e.g. `sources/embedded/key.asc`, relative
 * to `buildchain/`): its copy under `dist/buildchain/` when running compiled (bundled or not),
 * else the source tree's.
 */
export function buildchainAsset(rel: string): string {
  return path.join(DIST_ROOT ?? PACKAGE_ROOT, 'buildchain', rel);
}

/**
 * The source of a module file: `<root>/dist/buildchain/x.js` → `<root>/buildchain/x.ts` when
 * running compiled; any other file as is (a bundle file: see {@link sourceOfFrame}).
 */
export function sourceOfModule(file: string): string {
  if (DIST_ROOT === undefined || !file.startsWith(DIST_ROOT + path.sep) || !file.endsWith('.js'))
    return file;
  return path.join(PACKAGE_ROOT, `${file.slice(DIST_ROOT.length + 1, -3)}.ts`);
}

/** Per bundle file: first lines (ascending) and the source each starts (absolute paths). */
interface LineTable {
  readonly lines: readonly number[];
  readonly sources: readonly string[];
}

/** Rows as written (`[firstLine, "buildchain/x.ts"]`), made into a {@link LineTable} on first use. */
let bundleTables: Map<string, LineTable | readonly [number, string][]> | undefined;

/**
 * The line → source tables of the bundle (`dist/bundle/sources.json`, written with it by
 * bin/compile-dist.mjs from esbuild's source maps), read once. Empty when unreadable: frames
 * then count as their bundle file.
 */
function tables(bundle: string): Map<string, LineTable | readonly [number, string][]> {
  if (bundleTables !== undefined) return bundleTables;
  bundleTables = new Map();
  try {
    const parsed = JSON.parse(readFileSync(path.join(bundle, 'sources.json'), 'utf8')) as Record<
      string,
      [number, string][]
    >;
    // Keys by concatenation: no path.join per file (this runs at start-up).
    for (const [name, rows] of Object.entries(parsed))
      bundleTables.set(bundle + path.sep + name, rows);
  } catch {
    // no table: a bundle built by hand
  }
  return bundleTables;
}

/** The table of a bundle file, its sources made absolute on first use. */
function tableOf(file: string): LineTable | undefined {
  if (BUNDLE_DIR === undefined) return undefined;
  const all = tables(BUNDLE_DIR);
  const t = all.get(file);
  if (t === undefined || !Array.isArray(t)) return t as LineTable | undefined;
  const rows = t as readonly [number, string][];
  const made: LineTable = {
    lines: rows.map((r) => r[0]),
    sources: rows.map((r) => PACKAGE_ROOT + path.sep + r[1].split('/').join(path.sep)),
  };
  all.set(file, made);
  return made;
}

/** True when `file` is a file of the running bundle (one with a line table). */
export function isBundleFile(file: string): boolean {
  return BUNDLE_DIR !== undefined && tables(BUNDLE_DIR).has(file);
}

/**
 * The source module of the code at `line` (1-based) of the running `file` (a stack frame):
 * for a bundle file, the TypeScript module esbuild put there (binary search in its table);
 * otherwise {@link sourceOfModule}.
 */
export function sourceOfFrame(file: string, line: number): string {
  const t = tableOf(file);
  if (t === undefined) return sourceOfModule(file);
  let lo = 0;
  let hi = t.lines.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if ((t.lines[mid] ?? 0) <= line) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return t.sources[found] ?? file;
}
