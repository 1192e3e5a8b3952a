/** Reading a whole HTTP response body into memory, bounded. */
import type { Readable } from 'node:stream';

/**
 * Reads a whole body (manifests, errors, repodata, packages), capped at `limit` bytes: past
 * it the stream is destroyed and the promise rejects. Stream errors (an {@link HttpError} of
 * lib/http/get.ts on idle timeout or abort) reject as they are.
 */
export async function readBody(body: Readable, limit = 8 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of body) {
    const b = chunk as Buffer;
    n += b.length;
    if (n > limit) {
      body.destroy();
      throw new Error(`response larger than ${limit} bytes`);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}
