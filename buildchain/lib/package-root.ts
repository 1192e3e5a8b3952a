/**
 * Where the running buildchain lives. Its sources run from `<root>/buildchain/` (tsx, tests);
 * the launcher runs the same modules compiled under `<root>/dist/buildchain/`
 * (bin/compile-dist.js, which writes `dist/.manifest.json`). Both give the same root.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';

const above = path.resolve(import.meta.dirname, '..', '..');

/** The compiled tree (`<root>/dist`) when this code runs from it; undefined from the sources. */
export const DIST_ROOT: string | undefined =
  path.basename(above) === 'dist' && existsSync(path.join(above, '.manifest.json'))
    ? above
    : undefined;

/** The repository (npm package) root: holds package.json, buildchain/, bin/. */
export const PACKAGE_ROOT: string = DIST_ROOT === undefined ? above : path.dirname(DIST_ROOT);

/**
 * The source of a module file: `<root>/dist/buildchain/x.js` → `<root>/buildchain/x.ts` when
 * running compiled; any other file as is.
 */
export function sourceOfModule(file: string): string {
  if (DIST_ROOT === undefined || !file.startsWith(DIST_ROOT + path.sep) || !file.endsWith('.js'))
    return file;
  return path.join(PACKAGE_ROOT, `${file.slice(DIST_ROOT.length + 1, -3)}.ts`);
}
