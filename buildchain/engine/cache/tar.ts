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

/** Exact reads and bounded streams over an async source of chunks. */
class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private readonly it: AsyncIterator<Buffer>;

  constructor(source: AsyncIterable<Buffer>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    const r = await this.it.next();
    if (r.done === true) return false;
    this.buf = this.buf.length === 0 ? r.value : Buffer.concat([this.buf, r.value]);
    return true;
  }

  /** Exactly `n` bytes; undefined at the very end of the source (nothing left). */
  async exactly(n: number): Promise<Buffer | undefined> {
    while (this.buf.length < n)
      if (!(await this.fill())) {
        if (this.buf.length === 0) return undefined;
        throw new TarFormatError('the layer is truncated');
      }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** The next `n` bytes as chunks (views of the source's). */
  async *chunks(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0 && !(await this.fill()))
        throw new TarFormatError('the layer is truncated');
      const take = Math.min(left, this.buf.length);
      const out = this.buf.subarray(0, take);
      this.buf = this.buf.subarray(take);
      left -= take;
      yield out;
    }
  }

  /** Reads and drops whatever is left. */
  async drain(): Promise<void> {
    this.buf = Buffer.alloc(0);
    while (await this.fill()) this.buf = Buffer.alloc(0);
  }
}

function field(b: Buffer, start: number, len: number): string {
  const raw = b.subarray(start, start + len);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? len : end).toString('utf8');
}

function octalField(b: Buffer, start: number, len: number, what: string): number {
  const text = field(b, start, len).trim();
  if (!/^[0-7]*$/.test(text)) throw new TarFormatError(`bad ${what} field in a tar header`);
  return text === '' ? 0 : parseInt(text, 8);
}

/** PAX records (`"<len> key=value\n"`...) of an extended header. */
function paxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    const len = sp < 0 ? NaN : Number(data.subarray(i, sp).toString('ascii'));
    if (!Number.isSafeInteger(len) || len <= 0 || i + len > data.length)
      throw new TarFormatError('bad PAX record');
    const rec = data.subarray(sp + 1, i + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq < 0) throw new TarFormatError('bad PAX record');
    out.set(rec.slice(0, eq), rec.slice(eq + 1));
    i += len;
  }
  return out;
}

/**
 * Reads a ustar stream (with PAX `x` headers, as {@link tarStream} writes them): yields each
 * entry's header and its content as chunks, which the caller consumes before asking for the
 * next entry (a content left unread is skipped). Checks header checksums; throws
 * TarFormatError for anything else than this writer's format.
 */
export async function* readTar(
  source: AsyncIterable<Buffer>,
): AsyncGenerator<{ header: TarHeader; body: AsyncGenerator<Buffer> }> {
  const r = new ByteReader(source);
  let pax: Map<string, string> | undefined;
  for (;;) {
    const b = await r.exactly(BLOCK);
    if (b === undefined) throw new TarFormatError('the layer ends without its end blocks');
    if (b.every((x) => x === 0)) {
      await r.drain();
      return;
    }
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (b[i] ?? 0);
    if (octalField(b, 148, 8, 'checksum') !== sum || field(b, 257, 6) !== 'ustar')
      throw new TarFormatError('bad tar header (checksum or magic)');
    const flag = String.fromCharCode(b[156] ?? 0);
    const size = octalField(b, 124, 12, 'size');
    const padded = size + (size % BLOCK === 0 ? 0 : BLOCK - (size % BLOCK));
    if (flag === 'x') {
      const data = await r.exactly(padded);
      if (data === undefined) throw new TarFormatError('the layer is truncated');
      pax = paxRecords(data.subarray(0, size));
      continue;
    }
    const prefix = field(b, 345, 155);
    const name = field(b, 0, 100);
    const header: TarHeader = {
      path: pax?.get('path') ?? (prefix === '' ? name : `${prefix}/${name}`),
      type:
        flag === '0' || flag === '\0'
          ? 'file'
          : flag === '5'
            ? 'dir'
            : flag === '2'
              ? 'symlink'
              : 'other',
      flag,
      mode: octalField(b, 100, 8, 'mode'),
      size,
      target: pax?.get('linkpath') ?? field(b, 157, 100),
    };
    pax = undefined;
    const left = { n: size };
    const body = (async function* () {
      for await (const c of r.chunks(size)) {
        left.n -= c.length;
        yield c;
      }
    })();
    yield { header, body };
    // Whatever the caller left unread (even when it stopped early), then the padding.
    for await (const c of r.chunks(left.n)) left.n -= c.length;
    if (padded > size) await r.exactly(padded - size);
  }
}
