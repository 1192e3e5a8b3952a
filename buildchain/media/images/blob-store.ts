/**
 * A shared content-addressed blob store (`<dir>/sha256/<hex>`): each blob is fetched once,
 * its sha256 checked while streaming into a temp file that is renamed into place only when it
 * matches. Fetches are single-flight per blob across every pull running in this process, and
 * bounded in number. With a build cache (BUILD_CACHE, engine/cache/) a missing blob is looked
 * up there before the upstream (a blob failing its digest is discarded, then fetched upstream),
 * and in readwrite mode what came from the upstream is uploaded to it (in the background).
 */
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, statSync, type Stats } from 'node:fs';
import { copyFile, link, mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { activeBuildCache, type BuildCache } from '../../engine/cache/build-cache.ts';
import { TaskError } from '../../engine/task.ts';
import { produceFileAtomic, writeFileAtomic } from '../../lib/fs/atomic-write.ts';
import { Semaphore } from '../../lib/async/semaphore.ts';
import { sha256File } from '../../lib/fs/hash.ts';

/** Counters for benchmarks and logs. */
export interface BlobStoreStats {
  /** Bytes received from the upstream into the store. */
  bytesFetched: number;
  blobsFetched: number;
  /** Bytes and blobs received from the build cache instead of the upstream. */
  bytesFromCache: number;
  blobsFromCache: number;
  /** Blobs already present when asked for. */
  blobsReused: number;
}

export { Semaphore };

/**
 * Where a blob fetched from the upstream came from (the build cache mounts it from there when
 * on the same registry), or a function giving it once the fetch happened.
 */
export type BlobSource =
  | { host: string; repository: string }
  | (() => { host: string; repository: string } | undefined);

const TRANSIENT = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ERR_STREAM_PREMATURE_CLOSE']);

/** Blobs up to this size (known from the manifest) are received in memory, then written. */
const SMALL_BLOB = 1024 * 1024;

/** Where blobs live, shared by every image pull and build. */
export class BlobStore {
  readonly dir: string;
  readonly stats: BlobStoreStats = {
    bytesFetched: 0,
    blobsFetched: 0,
    bytesFromCache: 0,
    blobsFromCache: 0,
    blobsReused: 0,
  };
  private readonly inflight = new Map<string, Promise<string>>();
  private readonly limiter: Semaphore;
  /**
   * The blobs this process checked every byte of (fetched, or adopted), by `dev:ino`: their
   * size, mtime and hex digest as the store wrote them (see {@link verifiedDigest}).
   */
  private readonly verified = new Map<string, { size: number; mtimeMs: number; hex: string }>();

  constructor(dir: string, concurrency = 4) {
    this.dir = path.resolve(dir);
    this.limiter = new Semaphore(Math.max(1, concurrency));
  }

  /**
   * The hex sha256 of the file whose stat is `st` when it is a blob this store checked in this
   * process (same inode, size and mtime as it wrote it), else undefined. images:dedup groups
   * such files by it without reading them (and reads them before linking anything).
   */
  verifiedDigest(st: Stats): string | undefined {
    const v = this.verified.get(`${st.dev}:${st.ino}`);
    return v !== undefined && v.size === st.size && v.mtimeMs === st.mtimeMs ? v.hex : undefined;
  }

  private recordVerified(file: string, digest: string): void {
    const st = statSync(file, { throwIfNoEntry: false });
    if (st === undefined || !st.isFile()) return;
    this.verified.set(`${st.dev}:${st.ino}`, {
      size: st.size,
      mtimeMs: st.mtimeMs,
      hex: digest.slice('sha256:'.length),
    });
  }

  /** Absolute path of a blob (whether present or not). */
  pathOf(digest: string): string {
    return path.join(this.dir, 'sha256', digest.slice('sha256:'.length));
  }

  /** True when the blob is present (and has `size` bytes, when given): one stat, no promise. */
  has(digest: string, size?: number): boolean {
    const st = statSync(this.pathOf(digest), { throwIfNoEntry: false });
    return st !== undefined && st.isFile() && (size === undefined || st.size === size);
  }

  /**
   * Makes sure the blob is in the store, fetching it with `open` at most once across
   * concurrent callers. `what` names the image for error messages. Resolves with the path.
   */
  ensure(
    digest: string,
    size: number | undefined,
    open: () => Promise<Readable>,
    what: string,
    from?: BlobSource,
  ): Promise<string> {
    const running = this.inflight.get(digest);
    if (running !== undefined) return running;
    const job = this.fetchOnce(digest, size, open, what, from).finally(() => this.inflight.delete(digest));
    this.inflight.set(digest, job);
    return job;
  }

  private async fetchOnce(
    digest: string,
    size: number | undefined,
    open: () => Promise<Readable>,
    what: string,
    from?: BlobSource,
  ): Promise<string> {
    const final = this.pathOf(digest);
    if (this.has(digest, size)) {
      this.stats.blobsReused++;
      return final;
    }
    mkdirSync(path.dirname(final), { recursive: true });
    const cache = activeBuildCache();
    return this.limiter.run(async () => {
      if (cache !== undefined && (await this.fromCache(cache, digest, size, what, final))) return final;
      for (let attempt = 1; ; attempt++) {
        try {
          await this.download(digest, size, open, what, final);
          if (cache !== undefined) {
            const bytes = size ?? (await stat(final)).size;
            cache.blobFromUpstream(bytes);
            if (cache.writable)
              cache.queueBlobUpload(digest, bytes, final, typeof from === 'function' ? from() : from);
          }
          return final;
        } catch (err) {
          const code = (err as { code?: unknown }).code;
          if (attempt >= 3 || typeof code !== 'string' || !TRANSIENT.has(code)) throw err;
          await new Promise((r) => setTimeout(r, 250 * attempt));
        }
      }
    });
  }

  /** Takes the blob from the build cache; false when absent or unusable (then: upstream). */
  private async fromCache(
    cache: BuildCache,
    digest: string,
    size: number | undefined,
    what: string,
    final: string,
  ): Promise<boolean> {
    const src = await cache.openBlob(digest);
    if (src === undefined) return false;
    try {
      await this.download(digest, size, () => Promise.resolve(src), what, final, true);
    } catch (err) {
      src.destroy();
      cache.blobFailed(digest, err);
      return false;
    }
    cache.blobServed(size ?? 0);
    return true;
  }

  private async download(
    digest: string,
    size: number | undefined,
    open: () => Promise<Readable>,
    what: string,
    final: string,
    fromCache = false,
  ): Promise<void> {
    const hash = createHash('sha256');
    let n = 0;
    const stats = this.stats;
    const mismatch = (actual: string) =>
      new TaskError(
        'digest-mismatch',
        `${what}: blob ${digest} received with digest ${actual} (${n} bytes${size !== undefined ? `, expected ${size}` : ''})`,
        { hint: 'the registry or mirror serves corrupted or different content; nothing was kept' },
      );
    if (size !== undefined && size <= SMALL_BLOB) {
      // Gathered, checked, then written at once: a pull of many small blobs (configs, small
      // layers) makes no write stream and no thread-pool round trip per chunk.
      const chunks: Buffer[] = [];
      for await (const chunk of await open()) {
        const c = chunk as Buffer;
        hash.update(c);
        n += c.length;
        if (fromCache) stats.bytesFromCache += c.length;
        else stats.bytesFetched += c.length;
        if (n > size) break;
        chunks.push(c);
      }
      const actual = `sha256:${hash.digest('hex')}`;
      if (actual !== digest || n !== size) throw mismatch(actual);
      await writeFileAtomic(final, Buffer.concat(chunks, n), { mode: 0o644 });
      this.recordVerified(final, digest);
      if (fromCache) stats.blobsFromCache++;
      else stats.blobsFetched++;
      return;
    }
    await produceFileAtomic(final, async (tmp) => {
      const src = await open();
      await pipeline(
        src,
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            hash.update(chunk);
            n += chunk.length;
            if (fromCache) stats.bytesFromCache += chunk.length;
            else stats.bytesFetched += chunk.length;
            yield chunk;
          }
        },
        createWriteStream(tmp, { highWaterMark: 1 << 20 }),
      );
      const actual = `sha256:${hash.digest('hex')}`;
      if (actual !== digest || (size !== undefined && n !== size)) throw mismatch(actual);
    }, { mode: 0o644 });
    this.recordVerified(final, digest);
    if (fromCache) stats.blobsFromCache++;
    else stats.blobsFetched++;
  }

  /**
   * Moves a local file (e.g. a freshly built layer) into the store under its sha256, which is
   * computed here (and checked against `digest` when given). An existing copy wins: the file is
   * then removed. Resolves with the store path.
   */
  async adopt(file: string, digest?: string): Promise<string> {
    const actual = `sha256:${await sha256File(file)}`;
    if (digest !== undefined && actual !== digest) {
      throw new TaskError('digest-mismatch', `${file}: expected ${digest}, found ${actual}`);
    }
    const final = this.pathOf(actual);
    await mkdir(path.dirname(final), { recursive: true });
    if (this.has(actual)) {
      await rm(file, { force: true });
    } else {
      await produceFileAtomic(final, async (tmp) => {
        await link(file, tmp).catch(async () => {
          await copyFile(file, tmp);
        });
      });
      this.recordVerified(final, actual);
      await rm(file, { force: true });
    }
    return final;
  }
}

const stores = new Map<string, BlobStore>();

/**
 * The process-wide store for `dir` (so that concurrent tasks share single-flight and the
 * concurrency bound). `concurrency` applies when the store is first opened.
 */
export function openBlobStore(dir: string, concurrency = 4): BlobStore {
  const key = path.resolve(dir);
  let store = stores.get(key);
  if (store === undefined) {
    store = new BlobStore(key, concurrency);
    stores.set(key, store);
  }
  return store;
}
