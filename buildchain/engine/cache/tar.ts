/**
 * Deterministic tar layers for cache artifacts: entries in the order given (sorted by the
 * caller), ustar headers with mtime 0, uid/gid 0, no user or group names, modes reduced to
 * 0755/0644 (directories 0755), hard links stored as plain files, long names through a PAX
 * `path` record. The same tree therefore gives the same bytes on every machine.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';

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

const BLOCK = 512;

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

function header(name: string, type: string, size: number, mode: number, link = ''): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(name, 0, 100, 'utf8');
  b.write(octal(mode, 8), 100, 'ascii');
  b.write(octal(0, 8), 108, 'ascii');
  b.write(octal(0, 8), 116, 'ascii');
  b.write(octal(size, 12), 124, 'ascii');
  b.write(octal(0, 12), 136, 'ascii');
  b.write('        ', 148, 'ascii');
  b.write(type, 156, 'ascii');
  b.write(link, 157, 100, 'utf8');
  b.write('ustar\0', 257, 'ascii');
  b.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(octal(sum, 7) + ' ', 148, 'ascii');
  return b;
}

function pad(size: number): Buffer {
  const rest = size % BLOCK;
  return Buffer.alloc(rest === 0 ? 0 : BLOCK - rest);
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
  const own = header(fits(name) ? name : 'PaxName', type, size, mode, fits(link) ? link : '');
  if (pax.length === 0) return own;
  const data = Buffer.from(pax.join(''), 'utf8');
  return Buffer.concat([header('PaxHeader', 'x', data.length, 0o644), data, pad(data.length), own]);
}

/**
 * Streams the layer: each entry's header, its content (read from `source`, checked to have
 * `size` bytes), padding, and the two zero blocks at the end.
 */
export async function* tarStream(entries: readonly TarEntry[]): AsyncGenerator<Buffer> {
  for (const e of entries) {
    yield entryHeader(e);
    if (e.type !== 'file') continue;
    let n = 0;
    if ((e.size ?? 0) > 0 && e.source !== undefined) {
      for await (const chunk of createReadStream(e.source) as Readable) {
        const b = chunk as Buffer;
        n += b.length;
        yield b;
      }
    }
    if (n !== (e.size ?? 0))
      throw new Error(
        `${e.path} changed while it was archived (${n} bytes, expected ${e.size ?? 0})`,
      );
    yield pad(n);
  }
  yield Buffer.alloc(BLOCK * 2);
}
