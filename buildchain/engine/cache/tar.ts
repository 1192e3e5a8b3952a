/**
 * Deterministic tar layers for cache artifacts: entries in the order given (sorted by the
 * caller), ustar headers with mtime 0, uid/gid 0, no user or group names, modes reduced to
 * 0755/0644 (directories 0755), hard links stored as plain files, long names through a PAX
 * `path` record. The same tree therefore gives the same bytes on every machine.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { ReadEntry } from 'tar';
import { TAR_BLOCK, ustarHeader } from '../../lib/ustar.ts';

/** One entry of a layer. */
export interface TarEntry {
  /** `/`-separated relative path (no leading `/`, no `..`). */
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink';
  /** Executable (files only). */
  readonly exec?: boolean;
  /** Bytes (files only). */
  readonly size?: number;
  /** Absolute path to read the content from (files only). */
  readonly source?: string;
  /** Link text (symlinks only). */
  readonly target?: string;
}

function pad(size: number): Buffer {
  const rest = size % TAR_BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : TAR_BLOCK - rest);
}

/** A PAX record `"<len> key=value\n"` (the length counts itself). */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len)
    len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

function fits(s: string): boolean {
  return Buffer.byteLength(s) < 100 && /^[\x20-\x7e]*$/.test(s);
}

/** The header blocks of one entry (a PAX header first when a name does not fit). */
export function entryHeader(e: TarEntry): Buffer {
  const name = e.type === 'dir' ? `${e.path}/` : e.path;
  const link = e.target ?? '';
  const pax: string[] = [];
  if (!fits(name)) pax.push(paxRecord('path', name));
  if (!fits(link)) pax.push(paxRecord('linkpath', link));
  const size = e.type === 'file' ? (e.size ?? 0) : 0;
  const mode =
    e.type === 'file' ? (e.exec === true ? 0o755 : 0o644) : e.type === 'dir' ? 0o755 : 0o777;
  const type = e.type === 'file' ? '0' : e.type === 'dir' ? '5' : '2';
  const own = ustarHeader(fits(name) ? name : 'PaxName', size, {
    type,
    mode,
    link: fits(link) ? link : '',
  });
  if (pax.length === 0) return own;
  const data = Buffer.from(pax.join(''), 'utf8');
  return Buffer.concat([
    ustarHeader('PaxHeader', data.length, { type: 'x' }),
    data,
    pad(data.length),
    own,
  ]);
}

/**
 * Streams the layer: each entry's header, its content (read from `source`, checked to have
 * `size` bytes), padding, and the two zero blocks at the end. `onFile` is given each file's
 * sha256 (hex) of the bytes streamed, once they all were (the content is read once).
 */
export async function* tarStream(
  entries: readonly TarEntry[],
  onFile?: (entry: TarEntry, sha256: string) => Promise<void> | void,
): AsyncGenerator<Buffer> {
  for (const e of entries) {
    yield entryHeader(e);
    if (e.type !== 'file') continue;
    let n = 0;
    const hash = onFile === undefined ? undefined : createHash('sha256');
    if ((e.size ?? 0) > 0 && e.source !== undefined) {
      for await (const chunk of createReadStream(e.source) as Readable) {
        const b = chunk as Buffer;
        n += b.length;
        hash?.update(b);
        yield b;
      }
    }
    if (n !== (e.size ?? 0))
      throw new Error(
        `${e.path} changed while it was archived (${n} bytes, expected ${e.size ?? 0})`,
      );
    if (hash !== undefined && onFile !== undefined) await onFile(e, hash.digest('hex'));
    yield pad(n);
  }
  yield Buffer.alloc(TAR_BLOCK * 2);
}

/** A layer that is not a tar this module could have written (truncated, bad header, ...). */
export class TarFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarFormatError';
  }
}

/** One entry read by {@link readTar}. */
export interface TarHeader {
  /** The name as stored (a directory's ends with `/`), after a PAX `path` record. */
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink' | 'other';
  /** The raw type flag (for messages). */
  readonly flag: string;
  readonly mode: number;
  readonly size: number;
  /** Link text (symlinks), after a PAX `linkpath` record. */
  readonly target: string;
}

function headerOf(e: ReadEntry): TarHeader {
  const type =
    e.type === 'File' || e.type === 'OldFile'
      ? 'file'
      : e.type === 'Directory'
        ? 'dir'
        : e.type === 'SymbolicLink'
          ? 'symlink'
          : 'other';
  return {
    path: e.path,
    type,
    flag: e.header.typeKey,
    mode: e.mode ?? 0,
    size: e.size,
    target: e.linkpath ?? '',
  };
}

/** The first bytes of a gzip or zstd stream (node-tar's Parser would inflate them). */
const COMPRESSED = [Buffer.from([0x1f, 0x8b]), Buffer.from([0x28, 0xb5, 0x2f, 0xfd])];

/**
 * Reads a tar stream with node-tar's Parser in strict mode (checksums, truncation, bad
 * fields: errors, not warnings), as {@link tarStream} writes them (ustar with PAX `x`
 * headers; compressed streams, global headers and unknown entry types are refused): calls
 * `onEntry` with each entry's header and its content, one entry at a time, in order (a
 * content left unread is skipped). Reads the source to its end unless something failed (then
 * leaves the rest unread, the source not closed). Throws TarFormatError for
 * anything that is not a whole tar, or the first error of `onEntry` (nothing more is given
 * to it after that).
 */
export async function readTar(
  source: AsyncIterable<Buffer>,
  onEntry: (header: TarHeader, body: AsyncIterable<Buffer>) => Promise<void>,
): Promise<void> {
  // Loaded on the first restore: every command imports the build cache, few restore (10-15 ms).
  const { Parser } = await import('tar');
  const parser = new Parser({ strict: true, brotli: false, zstd: false });
  let failure: { err: unknown } | undefined;
  let wake: () => void = () => undefined;
  const fail = (err: unknown): void => {
    failure ??= { err };
    wake();
  };
  // Set by the event handlers: read through a call (no narrowing across awaits).
  const failed = (): { err: unknown } | undefined => failure;
  const seen = { end: false };
  let truncated = false;
  let entries = Promise.resolve();
  parser.on('entry', (e: ReadEntry) => {
    entries = entries.then(async () => {
      try {
        if (failure !== undefined) return;
        if (e.globalExtended !== undefined)
          throw new TarFormatError('global PAX headers are not allowed');
        await onEntry(headerOf(e), e);
      } catch (err) {
        fail(err);
      } finally {
        // Whatever was left unread (even after a failure): the parser then goes on.
        e.resume();
      }
    });
  });
  // node-tar skips entries of an unknown type and oversized metadata: refused here.
  parser.on('ignoredEntry', (e: ReadEntry) => {
    fail(
      new TarFormatError(
        e.meta
          ? `${e.path}: a ${e.size}-byte extended header is too large`
          : e.header.typeKey === 'Unsupported'
            ? `${e.path}: tar entries of an unknown type are not allowed`
            : `${e.path}: tar entries of type ${JSON.stringify(e.header.typeKey)} are not allowed`,
      ),
    );
  });
  parser.on('eof', () => {
    seen.end = true;
  });
  parser.on('error', (err: Error & { tarCode?: string }) => {
    if (/truncated/i.test(err.message)) truncated = true;
    fail(
      new TarFormatError(
        truncated ? 'the layer is truncated' : err.message.replace(/^TAR_[A-Z_]+: /, ''),
      ),
    );
  });
  const ended = new Promise<void>((resolve) =>
    parser.once('end', () => {
      resolve();
    }),
  );
  const it = source[Symbol.asyncIterator]();
  let total = 0;
  try {
    // Not `for await`: leaving it early would close the source, which the caller may still
    // read to its end (extractChecked, to check the digest).
    while (failed() === undefined) {
      const r = await it.next();
      if (r.done === true) break;
      const chunk = r.value;
      if (total === 0 && COMPRESSED.some((m) => chunk.subarray(0, m.length).equals(m))) {
        fail(new TarFormatError('the layer is compressed'));
        break;
      }
      total += chunk.length;
      if (!parser.write(chunk)) {
        let onDrain: () => void = () => undefined;
        await new Promise<void>((resolve) => {
          wake = resolve;
          onDrain = resolve;
          parser.once('drain', onDrain);
        });
        parser.off('drain', onDrain);
      }
    }
  } catch (err) {
    fail(err);
  }
  // Ends the entry being read, if any (as truncated after a failure), then the parser.
  parser.end();
  await ended;
  await entries;
  const f = failed();
  if (f !== undefined) throw f.err;
  if (!seen.end)
    throw new TarFormatError(
      total % TAR_BLOCK !== 0 ? 'the layer is truncated' : 'the layer ends without its end blocks',
    );
}
