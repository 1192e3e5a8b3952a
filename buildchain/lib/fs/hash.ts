/**
 * The one sha256: of a file (streamed, never read whole), or of bytes/text in memory. Hex
 * digests, lower case; {@link sha256Digest} gives the OCI form `sha256:<hex>`.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';

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
 * Hex sha256 of the file's content, streamed in reads of up to 4 MiB (follows a symlink, as open
 * does).
 * Rejects with the fs error (ENOENT, EISDIR, ...) or the abort reason.
 */
export async function sha256File(file: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  // Each read allocates a buffer of the read size: 4 MiB for a small file made many hashes of
  // small files (an image's configs, a repo's RPMs) force a full GC every few files.
  const size = (await stat(file)).size;
  const stream = createReadStream(file, {
    highWaterMark: Math.min(READ_SIZE, Math.max(64 * 1024, size + 1)),
    ...(signal ? { signal } : {}),
  });
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** {@link sha256File} as the script of a worker thread (plain JS: no loader needed there). */
const WORKER_SCRIPT = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { createReadStream } = require('node:fs');
const hash = createHash('sha256');
createReadStream(workerData.file, { highWaterMark: workerData.readSize })
  .on('data', (chunk) => hash.update(chunk))
  .on('error', (err) => { throw err; })
  .on('end', () => parentPort.postMessage(hash.digest('hex')));
`;

/**
 * {@link sha256File} computed on a worker thread: the caller's thread stays free for other
 * hashing (verify hashes an ISO's blobs while its whole-file checksum runs beside, on another
 * core). Rejects with the fs error or the abort reason; the worker is always ended.
 */
export function sha256FileOnWorker(file: string, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SCRIPT, {
      eval: true,
      workerData: { file, readSize: READ_SIZE },
      execArgv: [],
    });
    let settled = false;
    const finish = (f: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      f();
    };
    const onAbort = (): void => {
      finish(() => {
        const reason: unknown = signal?.reason;
        reject(reason instanceof Error ? reason : new Error('aborted'));
      });
    };
    if (signal?.aborted === true) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.once('message', (hex: string) => {
      finish(() => {
        resolve(hex);
      });
    });
    worker.once('error', (err) => {
      finish(() => {
        reject(err);
      });
    });
    worker.once('exit', (code) => {
      finish(() => {
        reject(new Error(`sha256 worker for ${file} exited with code ${String(code)}`));
      });
    });
  });
}
