/**
 * `product.txt` at the ISO root: `KEY=value` lines, sourceable by sh and greppable, read by
 * Salt from the ISO as `/PRODUCT.TXT;1`. Values are restricted to characters that need no
 * quoting in sh, so the file stays exactly the 2.4 format.
 */
import { TaskError } from '../engine/task.ts';
import { rejectValue } from '../lib/text/quote.ts';
import type { ProductVersion } from '../config/version.ts';

/** Inputs of product.txt. */
export interface ProductInfo {
  readonly name: string;
  readonly version: ProductVersion;
  /** `git describe --always --long --tags --dirty`, or '' outside a git checkout. */
  readonly git: string;
  /** Build time in seconds since the epoch (SOURCE_DATE_EPOCH or the git commit time). */
  readonly epoch: number;
  readonly buildHost: string;
  /** Which sources were used, a plain word: `upstream`, `site`, `embedded-stand-in-not-a-release`. */
  readonly sources: string;
}

/** Keys in file order. */
export const PRODUCT_KEYS = [
  'NAME',
  'VERSION',
  'SHORT_VERSION',
  'GIT',
  'DEVELOPMENT_RELEASE',
  'BUILD_TIMESTAMP',
  'BUILD_HOST',
  'SOURCES',
] as const;

/** `%Y-%m-%dT%H:%M:%SZ` */
export function formatTimestamp(epoch: number): string {
  return new Date(epoch * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Makes a value safe unquoted in sh: anything outside a conservative set becomes `_`. */
export function shSafe(value: string): string {
  return value.replace(/[^A-Za-z0-9._,:+@%/=-]/g, '_');
}

/** Renders product.txt (final newline included). */
export function renderProductTxt(info: ProductInfo): string {
  if (!/^[A-Za-z0-9._-]+$/.test(info.name)) {
    throw new TaskError('invalid-input', `PROJECT_NAME '${info.name}' must match [A-Za-z0-9._-]+`, {
      hint: 'product.txt is sourced by sh and grepped by Salt (^NAME=...$): pick a plain name.',
    });
  }
  const values: Record<(typeof PRODUCT_KEYS)[number], string> = {
    NAME: info.name,
    VERSION: info.version.full,
    SHORT_VERSION: info.version.short,
    GIT: shSafe(info.git),
    DEVELOPMENT_RELEASE: info.version.isDevelopment ? '1' : '0',
    BUILD_TIMESTAMP: formatTimestamp(info.epoch),
    BUILD_HOST: shSafe(info.buildHost),
    SOURCES: shSafe(info.sources),
  };
  // Sourced by sh unquoted: every value must read back as written (VERSION is checked where
  // it is parsed; this keeps any future field honest).
  for (const k of PRODUCT_KEYS) {
    if (shSafe(values[k]) !== values[k]) {
      rejectValue(
        `product.txt ${k}`,
        values[k],
        'is not a plain sh word',
        'product.txt is sourced by sh: fix the value at its source',
      );
    }
  }
  return PRODUCT_KEYS.map((k) => `${k}=${values[k]}\n`).join('');
}

/** Parses `KEY=value` lines (the inverse of {@link renderProductTxt}; comments ignored). */
export function parseProductTxt(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (line.startsWith('#') || eq <= 0) continue;
    out.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return out;
}
