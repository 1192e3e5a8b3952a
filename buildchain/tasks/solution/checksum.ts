/** Streaming sha256 of files and the `SHA256SUM` file written beside an ISO. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';

/** Lowercase hex sha256 of a file (or of bytes `start..end` inclusive of it). */
export async function sha256File(
  file: string,
  range?: { start: number; end: number },
): Promise<string> {
  const h = createHash('sha256');
  if (range !== undefined && range.end < range.start) return h.digest('hex');
  await pipeline(createReadStream(file, { highWaterMark: 1 << 20, ...(range ?? {}) }), h);
  return h.digest('hex');
}

/** Parses `sha256sum` output: file name -> hex (a leading `*` binary marker is dropped). */
export function parseSha256Sums(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([a-f0-9]{64}) [ *](.+)$/.exec(line.trim());
    if (m?.[1] !== undefined && m[2] !== undefined) out.set(m[2], m[1]);
  }
  return out;
}

/** `SHA256SUM` beside `file`. */
export function sha256SumPath(file: string): string {
  return path.join(path.dirname(file), 'SHA256SUM');
}
