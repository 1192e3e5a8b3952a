/**
 * Fetching files by URL (http, https, file) with checksum verification. A file is written to a
 * temp name and renamed only once its checksum matched: a failure never leaves a valid-looking
 * file behind.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { TaskError } from '../../engine/task.ts';
import { writeFileAtomic } from '../../lib/fs/atomic-write.ts';
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

/**
 * Reads a URL. Network errors become `unreachable` naming `what` (e.g. "repo 'epel'") and the
 * settings that choose the URL.
 */
export async function readUrl(url: string, what: string, signal?: AbortSignal): Promise<Buffer> {
  if (url.startsWith('file://')) {
    try {
      return await readFile(fileURLToPath(url));
    } catch (e) {
      throw new TaskError('unreachable', `${what}: cannot read ${url}: ${(e as Error).message}`, {
        hint: 'Check the path, SOURCES and PACKAGE_MIRRORS in .env.',
      });
    }
  }
  let res: Awaited<ReturnType<typeof httpGet>> | undefined;
  try {
    res = await httpGet(url, { signal });
    if (res.status < 200 || res.status >= 300) res.body.resume();
    else return await readBody(res.body, Number.MAX_SAFE_INTEGER);
  } catch (e) {
    if (!(e instanceof HttpError) || e.reason === 'aborted') throw e;
    throw new TaskError(
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
  throw new TaskError('unreachable', `${what}: ${url} answered HTTP ${res.status}`, {
    hint: 'Check SOURCES and PACKAGE_MIRRORS in .env, and that the mirror holds this file.',
  });
}

/** Expected content of a fetched file. */
export interface Expected {
  readonly type: string;
  readonly value: string;
  readonly size?: number;
}

/**
 * Downloads `url` to `dest` (temp name, then rename) after checking its checksum. Throws
 * `digest-mismatch` naming `what`, the URL and both checksums.
 */
export async function fetchVerified(
  url: string,
  dest: string,
  expected: Expected,
  what: string,
  hint: string,
): Promise<void> {
  const data = await readUrl(url, what);
  const actual = digestOf(data, expected.type);
  if (actual !== expected.value.toLowerCase()) {
    throw new TaskError(
      'digest-mismatch',
      `${what}: ${url} has ${expected.type} ${actual}, expected ${expected.value}`,
      { hint },
    );
  }
  await writeFileAtomic(dest, data, { mkdir: true });
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
