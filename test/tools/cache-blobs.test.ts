/**
 * The shared blob store with a build cache on a real loopback registry (basic auth): a blob
 * fetched from the upstream is uploaded (readwrite) and kept alive by a tag; another runner's
 * fresh store gets it from the cache without touching the upstream; a corrupt cached blob is
 * discarded for the upstream's; read mode uploads nothing; a blob already in another
 * repository of the cache registry is mounted, not uploaded.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { blobTag, setActiveBuildCache } from '../../buildchain/engine/cache/build-cache.ts';
import { sha256Digest } from '../../buildchain/lib/oci/manifest.ts';
import { BlobStore } from '../../buildchain/media/images/blob-store.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { stopAll } from '../helpers/servers.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { startCacheRegistry, type CacheRegistry } from './cache-fixture.ts';

const missing = missingTools('docker-registry', 'htpasswd');

let tmp: TempDir;
let reg: CacheRegistry;
let stores = 0;

/** A fresh blob store (another runner's empty BUILD_ROOT). */
function freshStore(): BlobStore {
  return new BlobStore(path.join(tmp.path, `store-${++stores}`));
}

/** An upstream serving `bytes`, counting its calls. */
function upstream(bytes: Buffer): { open: () => Promise<Readable>; calls: () => number } {
  let n = 0;
  return {
    open: () => {
      n++;
      return Promise.resolve(Readable.from([bytes]));
    },
    calls: () => n,
  };
}

describe.skipIf(missing.length > 0)('blob store through the build cache', () => {
  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-cache-blobs-');
    reg = await startCacheRegistry(tmp.path);
  }, 30_000);
  afterEach(() => {
    setActiveBuildCache(undefined);
  });
  afterAll(async () => {
    await stopAll();
    await tmp.cleanup();
  });

  it('uploads what the upstream gave (readwrite); another store then gets it from the cache only', async () => {
    const bytes = randomBytes(300_000);
    const digest = sha256Digest(bytes);
    const warnings: string[] = [];
    const writer = reg.buildCache('ci/blobs', 'readwrite', warnings);
    setActiveBuildCache(writer);
    const up = upstream(bytes);
    const a = freshStore();
    await a.ensure(digest, bytes.length, up.open, 'img:1');
    await writer.drain();
    expect(up.calls()).toBe(1);
    expect(a.stats).toMatchObject({ bytesFetched: bytes.length, bytesFromCache: 0 });
    expect(writer.stats).toMatchObject({
      blobsUploaded: 1,
      blobBytesUp: bytes.length,
      blobsFromUpstream: 1,
    });
    expect(await reg.client('ci/blobs').listTags()).toEqual([blobTag(digest)]);

    const reader = reg.buildCache('ci/blobs', 'read', warnings);
    setActiveBuildCache(reader);
    const up2 = upstream(bytes);
    const b = freshStore();
    const file = await b.ensure(digest, bytes.length, up2.open, 'img:1');
    expect(up2.calls()).toBe(0);
    expect(readFileSync(file).equals(bytes)).toBe(true);
    expect(b.stats).toMatchObject({
      bytesFetched: 0,
      bytesFromCache: bytes.length,
      blobsFromCache: 1,
    });
    expect(reader.stats).toMatchObject({ blobsFromCache: 1, blobsFromUpstream: 0 });
    expect(warnings).toEqual([]);
  });

  it('a corrupt cached blob is discarded with a warning; the upstream serves it', async () => {
    const bytes = randomBytes(50_000);
    const digest = sha256Digest(bytes);
    const warnings: string[] = [];
    const writer = reg.buildCache('ci/corrupt-blobs', 'readwrite', warnings);
    setActiveBuildCache(writer);
    await freshStore().ensure(digest, bytes.length, upstream(bytes).open, 'img:2');
    await writer.drain();
    writeFileSync(reg.blobFile(digest), randomBytes(bytes.length));

    setActiveBuildCache(reg.buildCache('ci/corrupt-blobs', 'read', warnings));
    const up = upstream(bytes);
    const store = freshStore();
    const file = await store.ensure(digest, bytes.length, up.open, 'img:2');
    expect(up.calls()).toBe(1);
    expect(readFileSync(file).equals(bytes)).toBe(true);
    expect(warnings.join('\n')).toMatch(
      new RegExp(
        `blob ${digest} unusable, fetched from the upstream instead: img:2: blob ${digest} received with digest`,
      ),
    );
  });

  it('read mode uploads nothing', async () => {
    const bytes = randomBytes(10_000);
    const warnings: string[] = [];
    const reader = reg.buildCache('ci/read-blobs', 'read', warnings);
    setActiveBuildCache(reader);
    const up = upstream(bytes);
    await freshStore().ensure(sha256Digest(bytes), bytes.length, up.open, 'img:3');
    await reader.drain();
    expect(up.calls()).toBe(1);
    expect(await reg.client('ci/read-blobs').listTags()).toEqual([]);
    expect(await reg.client('ci/read-blobs').hasBlob(sha256Digest(bytes))).toBe(false);
    expect(reader.stats.blobsUploaded).toBe(0);
  });

  it('a blob of another repository of the cache registry is mounted, not uploaded', async () => {
    const bytes = randomBytes(20_000);
    const digest = sha256Digest(bytes);
    await reg.client('upstream/image').putBlob(digest, bytes.length, () => bytes);
    const file = path.join(tmp.path, 'mount-src');
    writeFileSync(file, bytes);
    const warnings: string[] = [];
    const writer = reg.buildCache('ci/mounted', 'readwrite', warnings);
    writer.queueBlobUpload(digest, bytes.length, file, {
      host: reg.host,
      repository: 'upstream/image',
    });
    await writer.drain();
    expect(warnings).toEqual([]);
    expect(writer.stats).toMatchObject({ blobsMounted: 1, blobsUploaded: 0 });
    expect(await reg.client('ci/mounted').hasBlob(digest)).toBe(true);
    expect(await reg.client('ci/mounted').listTags()).toEqual([blobTag(digest)]);
  });
});
