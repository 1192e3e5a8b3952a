/** The `VERSION` file (MAJOR/MINOR/PATCH/SUFFIX): the single version source. */
import path from 'node:path';
import { TaskError } from '../engine/task.ts';
import { existsNoFollow } from '../lib/fs/fence.ts';
import { readRegularText } from '../lib/fs/read-bounded.ts';

export const VERSION_FILE = 'VERSION';
/** Largest VERSION file accepted (bytes): it holds four short lines. */
const MAX_VERSION_BYTES = 64 * 1024;

/** Parsed `VERSION` file. */
export interface ProductVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** With its leading dash, e.g. `-beta1`; '' for a release. */
  readonly suffix: string;
  /** `MAJOR.MINOR.PATCH` + suffix, e.g. `2.4.0-beta1`. */
  readonly full: string;
  /** `MAJOR.MINOR`, e.g. `2.4`. */
  readonly short: string;
  /** True when the suffix is `-dev`. */
  readonly isDevelopment: boolean;
}

const KEYS = ['VERSION_MAJOR', 'VERSION_MINOR', 'VERSION_PATCH', 'VERSION_SUFFIX'] as const;

function bad(file: string, message: string): never {
  throw new TaskError('invalid-input', `${file}: ${message}`, {
    hint: 'VERSION holds exactly VERSION_MAJOR=, VERSION_MINOR=, VERSION_PATCH= (integers) and VERSION_SUFFIX= (empty or starting with "-").',
  });
}

/** Parses the text of a VERSION file (`KEY=value` lines, `#` comments). */
export function parseVersion(text: string, file = VERSION_FILE): ProductVersion {
  const values = new Map<string, string>();
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    const key = eq < 0 ? line : line.slice(0, eq).trim();
    if (eq < 0 || !(KEYS as readonly string[]).includes(key))
      bad(file, `line ${i + 1}: unexpected '${line}'`);
    if (values.has(key)) bad(file, `line ${i + 1}: ${key} set twice`);
    values.set(key, line.slice(eq + 1).trim());
  }
  const num = (key: string): number => {
    const v = values.get(key);
    if (v === undefined || !/^(0|[1-9]\d*)$/.test(v))
      bad(file, `${key} must be a non-negative integer, got '${v ?? ''}'`);
    return Number(v);
  };
  const major = num('VERSION_MAJOR');
  const minor = num('VERSION_MINOR');
  const patch = num('VERSION_PATCH');
  const suffix = values.get('VERSION_SUFFIX');
  if (suffix === undefined) bad(file, 'VERSION_SUFFIX is missing (use VERSION_SUFFIX= for none)');
  if (suffix !== '' && !/^-[0-9A-Za-z.-]+$/.test(suffix)) {
    bad(file, `VERSION_SUFFIX must be empty or '-' followed by [0-9A-Za-z.-], got '${suffix}'`);
  }
  return {
    major,
    minor,
    patch,
    suffix,
    full: `${major}.${minor}.${patch}${suffix}`,
    short: `${major}.${minor}`,
    isDevelopment: suffix === '-dev',
  };
}

/**
 * The text of `<root>/VERSION`: a regular file (never a directory, FIFO or device) of at most
 * 64 KiB. Throws TaskError `invalid-input` (`missing-file-dep` when absent) naming it.
 */
export function readVersionText(root: string): string {
  const file = path.join(root, VERSION_FILE);
  try {
    return readRegularText(file, { maxBytes: MAX_VERSION_BYTES, fix: VERSION_FIX });
  } catch (err) {
    if (err instanceof TaskError) throw err;
    return bad(file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/** Reads and parses `<root>/VERSION` (see {@link readVersionText}, {@link parseVersion}). */
export function readVersionFile(root: string): ProductVersion {
  return parseVersion(readVersionText(root), path.join(root, VERSION_FILE));
}

const VERSION_FIX =
  'VERSION is a regular file at the repository root holding VERSION_MAJOR=, VERSION_MINOR=, VERSION_PATCH= and VERSION_SUFFIX= lines; restore it with git checkout -- VERSION';

/**
 * True when `<root>/VERSION` exists in any form (a directory or a dangling link included, so
 * that reading it says what is wrong instead of silently using another version source).
 */
export function hasVersionFile(root: string): boolean {
  return existsNoFollow(path.join(root, VERSION_FILE));
}

/** Reads `<root>/VERSION` (see {@link readVersionFile}). */
export function loadVersion(root: string): Promise<ProductVersion> {
  return Promise.resolve().then(() => readVersionFile(root));
}
