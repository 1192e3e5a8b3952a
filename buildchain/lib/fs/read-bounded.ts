/**
 * Reading a file the user pointed at, with bounded work: only regular files (never a FIFO, a
 * device or a directory, which would block or never end) and at most `maxBytes`.
 */
import { constants, closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { TaskError } from '../errors.ts';

/** Default size limit for manifests, JSON and YAML inputs (bytes). */
export const DEFAULT_MAX_INPUT_BYTES = 16 * 1024 * 1024;

export interface ReadBoundedOptions {
  /** Largest accepted size in bytes (default {@link DEFAULT_MAX_INPUT_BYTES}). */
  readonly maxBytes?: number;
  /** How the message names the file (default: its path). */
  readonly what?: string;
  /** The fix shown as the hint. */
  readonly fix?: string;
}

function kindOf(st: {
  isDirectory(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
}): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

/**
 * Checks that `file` (symlinks followed) is a regular file of at most `maxBytes`; throws
 * `invalid-input` (or `missing-file-dep` when it does not exist) naming it. Returns its size.
 */
export function checkRegularFile(file: string, opts: ReadBoundedOptions = {}): number {
  const what = opts.what ?? file;
  const max = opts.maxBytes ?? DEFAULT_MAX_INPUT_BYTES;
  let st;
  try {
    st = statSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new TaskError(
        'missing-file-dep',
        `${what}: no such file`,
        opts.fix === undefined ? {} : { hint: opts.fix },
      );
    }
    throw new TaskError(
      'invalid-input',
      `${what}: cannot be read (${code})`,
      opts.fix === undefined ? {} : { hint: opts.fix },
    );
  }
  if (!st.isFile()) {
    throw new TaskError('invalid-input', `${what} is ${kindOf(st)}, not a regular file`, {
      hint: opts.fix ?? 'point it at a regular file',
    });
  }
  if (st.size > max) {
    throw new TaskError(
      'invalid-input',
      `${what} is ${st.size} bytes, more than the ${max} allowed`,
      {
        hint:
          opts.fix ??
          'this file is far larger than such a file can be: check that it is the right one',
      },
    );
  }
  return st.size;
}

/**
 * Reads `file` (a regular file of at most `maxBytes`, see {@link checkRegularFile}) as a
 * Buffer. Opened non-blocking, and checked again on the open descriptor, so a file swapped for
 * a FIFO or a device in between never blocks.
 */
export function readRegularFile(file: string, opts: ReadBoundedOptions = {}): Buffer {
  checkRegularFile(file, opts);
  const max = opts.maxBytes ?? DEFAULT_MAX_INPUT_BYTES;
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > max) checkRegularFile(file, opts);
    const buf = Buffer.alloc(Math.min(st.size, max) + 1);
    let n = 0;
    while (n < buf.length) {
      const got = readSync(fd, buf, n, buf.length - n, n);
      if (got === 0) break;
      n += got;
    }
    if (n > max) {
      throw new TaskError(
        'invalid-input',
        `${opts.what ?? file} grew past the ${max} bytes allowed while being read`,
      );
    }
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** {@link readRegularFile} decoded as UTF-8. */
export function readRegularText(file: string, opts: ReadBoundedOptions = {}): string {
  return readRegularFile(file, opts).toString('utf8');
}
