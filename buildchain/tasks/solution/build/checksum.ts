/** The `SHA256SUM` file written beside an ISO (the sha256 itself: lib/fs/hash.ts). */
import path from 'node:path';

/** Parses `sha256sum` output: file name -> hex (a leading `*` binary marker is dropped). */
export function parseSha256Sums(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([a-f0-9]{64}) [ *](.+)$/.exec(line.trim());
    if (m?.[1] !== undefined && m[2] !== undefined) out.set(m[2], m[1]);
  }
  return out;
}

/** Name of the checksum file written beside an ISO. */
export const SHA256SUM_FILE = 'SHA256SUM';

/** `SHA256SUM` beside `file`. */
export function sha256SumPath(file: string): string {
  return path.join(path.dirname(file), SHA256SUM_FILE);
}
