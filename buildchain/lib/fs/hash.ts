/**
 * The one sha256: of a file (streamed, never read whole), or of bytes/text in memory. Hex
 * digests, lower case; {@link sha256Digest} gives the OCI form `sha256:<hex>`.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Read size when streaming a file: 4 MiB. */
const READ_SIZE = 4 << 20;

/** Hex sha256 of `data` (a string is hashed as UTF-8). */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** `sha256:<hex>` of `data`: the digest form of OCI blobs and manifests. */
export function sha256Digest(data: string | Uint8Array): string {
  return `sha256:${sha256Hex(data)}`;
}

/**
 * Hex sha256 of the file's content, streamed in 4 MiB reads (follows a symlink, as open does).
 * Rejects with the fs error (ENOENT, EISDIR, ...) or the abort reason.
 */
export async function sha256File(file: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  const stream = createReadStream(file, {
    highWaterMark: READ_SIZE,
    ...(signal ? { signal } : {}),
  });
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
