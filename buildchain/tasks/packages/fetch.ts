/**
 * Fetching files by URL (http, https, file) with checksum verification. A file is written to a
 * temp name and renamed only once its checksum matched: a failure never leaves a valid-looking
 * file behind.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { access, readFile } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { TaskError } from '../../engine/task.ts';
import { produceFileAtomic, writeFileAtomic } from '../../lib/fs/atomic-write.ts';
import { readBody } from '../../lib/http/body.ts';
import { HttpError, httpGet } from '../../lib/http/get.ts';

/** Checksum types of repodata (`sha` is SHA-1). */
export function nodeHashName(type: string): string {
  const t = type.toLowerCase();
  if (t === 'sha' || t === 'sha1') return 'sha1';
  if (['sha224', 'sha256', 'sha384', 'sha512', 'md5'].includes(t)) return t;
  throw new TaskError('invalid-input', `unsupported checksum type '${type}'`, {
    hint: 'Repodata checksums must be sha1/sha224/sha256/sha384/sha512.',
  });
}

export function digestOf(data: Uint8Array, type = 'sha256'): string {
  return createHash(nodeHashName(type)).update(data).digest('hex');
}

/** Hex digest of a file, streamed. */
export async function fileDigest(file: string, type = 'sha256'): Promise<string> {
  const h = createHash(nodeHashName(type));
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

function unreachableError(e: HttpError, what: string): TaskError {
  return new TaskError(
    'unreachable',
    `${what}: cannot reach ${e.url}: ${e.code === '' ? e.detail : `${e.code} ${e.detail}`}`,
    {
      hint:
        e.code === 'ETIMEDOUT'
          ? `${e.hint ?? ''}; or use another mirror (PACKAGE_MIRRORS)`
          : 'Check the network, the proxy (HTTP_PROXY, HTTPS_PROXY, NO_PROXY), SOURCES and PACKAGE_MIRRORS in .env (a mirror maps upstream URLs).',
    },
  );
}

/**
 * Opens a URL (http, https, file) as a stream of its body. Network errors become `unreachable`
 * naming `what` (e.g. "repo 'epel'") and the settings that choose the URL.
 */
async function openUrl(url: string, what: string, signal?: AbortSignal): Promise<Readable> {
  if (url.startsWith('file://')) {
    const file = fileURLToPath(url);
    try {
      await access(file);
    } catch (e) {
      throw new TaskError('unreachable', `${what}: cannot read ${url}: ${(e as Error).message}`, {
        hint: 'Check the path, SOURCES and PACKAGE_MIRRORS in .env.',
      });
    }
    return createReadStream(file);
  }
  let res: Awaited<ReturnType<typeof httpGet>> | undefined;
  try {
    res = await httpGet(url, { signal });
  } catch (e) {
    if (!(e instanceof HttpError) || e.reason === 'aborted') throw e;
    throw unreachableError(e, what);
  }
  if (res.status >= 200 && res.status < 300) return res.body;
  res.body.resume();
  throw new TaskError('unreachable', `${what}: ${url} answered HTTP ${String(res.status)}`, {
    hint: 'Check SOURCES and PACKAGE_MIRRORS in .env, and that the mirror holds this file.',
  });
}

/** Reads a whole URL (repodata, keys); errors as {@link openUrl}. */
export async function readUrl(url: string, what: string, signal?: AbortSignal): Promise<Buffer> {
  const body = await openUrl(url, what, signal);
  try {
    return await readBody(body, Number.MAX_SAFE_INTEGER);
  } catch (e) {
    if (e instanceof HttpError && e.reason !== 'aborted') throw unreachableError(e, what);
    throw e;
  }
}

/** Expected content of a fetched file. */
export interface Expected {
  readonly type: string;
  readonly value: string;
  readonly size?: number;
}

/**
 * Downloads `url` to `dest` (temp name, then rename) after checking its checksum, streamed:
 * memory stays flat whatever the size (release-scale RPMs are megabytes, 4 at a time). Throws
 * `digest-mismatch` naming `what`, the URL and both checksums; nothing is left at `dest` then.
 */
export async function fetchVerified(
  url: string,
  dest: string,
  expected: Expected,
  what: string,
  hint: string,
): Promise<void> {
  await produceFileAtomic(
    dest,
    async (tmp) => {
      const h = createHash(nodeHashName(expected.type));
      const body = await openUrl(url, what);
      const hashing = new Transform({
        transform(chunk: Buffer, _enc, done) {
          h.update(chunk);
          done(null, chunk);
        },
      });
      try {
        await pipeline(body, hashing, createWriteStream(tmp));
      } catch (e) {
        if (e instanceof HttpError && e.reason !== 'aborted') throw unreachableError(e, what);
        throw e;
      }
      const actual = h.digest('hex');
      if (actual !== expected.value.toLowerCase()) {
        throw new TaskError(
          'digest-mismatch',
          `${what}: ${url} has ${expected.type} ${actual}, expected ${expected.value}`,
          { hint },
        );
      }
    },
    { mkdir: true },
  );
}

/** True when `file` exists with the expected checksum. */
export async function hasVerifiedFile(file: string, expected: Expected): Promise<boolean> {
  try {
    return (await fileDigest(file, expected.type)) === expected.value.toLowerCase();
  } catch {
    return false;
  }
}

/** Writes a file atomically (temp + rename), and only when its content changes. */
export async function writeIfChanged(file: string, content: string): Promise<boolean> {
  const old = await readFile(file, 'utf8').catch(() => undefined);
  if (old === content) return false;
  await writeFileAtomic(file, content, { mkdir: true });
  return true;
}
