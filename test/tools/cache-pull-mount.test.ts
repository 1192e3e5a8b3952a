/**
 * Image pulls name their source repository to the blob store, so that a build cache on the
 * same registry (a real loopback distribution registry with basic auth) gets each blob by a
 * cross-repository mount: no blob bytes are uploaded, yet the cache repository holds every
 * blob with its keep-alive tag. A mount the registry cannot do falls back to an upload.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  BuildCache,
  blobTag,
  setActiveBuildCache,
} from '../../buildchain/engine/cache/build-cache.ts';
import { formatEvent } from '../../buildchain/engine/reporters/console.ts';
import { MEDIA_OCI_MANIFEST, sha256Digest } from '../../buildchain/lib/oci/manifest.ts';
import { BlobStore } from '../../buildchain/media/images/blob-store.ts';
import { pullImage } from '../../buildchain/tasks/images/pull.ts';
import { RegistryClient } from '../../buildchain/tasks/images/registry-client.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { stopAll } from '../helpers/servers.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { startCacheRegistry, type CacheRegistry } from './cache-fixture.ts';

const missing = missingTools('docker-registry', 'htpasswd');

let tmp: TempDir;
let reg: CacheRegistry;

/** The console line of the `cache-stats` event the engine emits for `cache` at the end. */
function statsLine(cache: BuildCache): string | undefined {
  return formatEvent(
    { event: 'cache-stats', url: cache.url, mode: cache.mode, ...cache.stats },
    {},
  );
}

describe('RegistryClient.blobSource', () => {
  it('names the host contacted and the repository path there', () => {
    const hub = new RegistryClient({
      endpoint: { host: 'docker.io', upstream: 'docker.io', pathPrefix: '', insecure: false },
    });
    expect(hub.blobSource('nginx')).toEqual({
      host: 'registry-1.docker.io',
      repository: 'library/nginx',
    });
    const mirror = new RegistryClient({
      endpoint: { host: 'harbor.example.com:8443', pathPrefix: 'dockerhub', insecure: false },
    });
    expect(mirror.blobSource('calico/node')).toEqual({
      host: 'harbor.example.com:8443',
      repository: 'dockerhub/calico/node',
    });
  });
});

describe.skipIf(missing.length > 0)('image pull with a build cache on the same registry', () => {
  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-cache-pull-mount-');
    reg = await startCacheRegistry(tmp.path);
  }, 30_000);
  afterEach(() => {
    setActiveBuildCache(undefined);
  });
  afterAll(async () => {
    await stopAll();
    await tmp.cleanup();
  });

  it('mounts every blob of the pulled image into the cache repository, uploading no bytes', async () => {
    const upstream = reg.client('upstream/app');
    const config = Buffer.from(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers' } }),
    );
    const layers = [randomBytes(40_000), randomBytes(70_000)];
    for (const b of [config, ...layers]) await upstream.putBlob(sha256Digest(b), b.length, () => b);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_OCI_MANIFEST,
        config: {
          mediaType: 'application/vnd.oci.image.config.v1+json',
          digest: sha256Digest(config),
          size: config.length,
        },
        layers: layers.map((l) => ({
          mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
          digest: sha256Digest(l),
          size: l.length,
        })),
      }),
    );
    await upstream.putManifest('v1', manifest, MEDIA_OCI_MANIFEST);

    const warnings: string[] = [];
    const cache = reg.buildCache('ci/build-cache', 'readwrite', warnings);
    setActiveBuildCache(cache);
    const store = new BlobStore(path.join(tmp.path, 'blobs'));
    const client = new RegistryClient({
      endpoint: { host: reg.host, pathPrefix: '', insecure: true, authFile: reg.authFile },
      backoffMs: 10,
    });
    const r = await pullImage({
      client,
      repository: 'upstream/app',
      reference: sha256Digest(manifest),
      platforms: 'linux/amd64',
      store,
      dest: path.join(tmp.path, 'layout'),
      what: 'app:v1',
    });
    await cache.drain();

    expect(warnings).toEqual([]);
    expect(r.layoutDigest).toBe(sha256Digest(manifest));
    expect(readFileSync(path.join(tmp.path, 'layout', 'manifest.json')).equals(manifest)).toBe(
      true,
    );
    expect(store.stats).toMatchObject({ blobsFetched: 3, blobsFromCache: 0 });
    // Every blob came from the upstream and went to the cache by mount, none by upload.
    const bytes = config.length + layers.reduce((n, l) => n + l.length, 0);
    expect(cache.stats).toMatchObject({
      blobsFromUpstream: 3,
      blobsMounted: 3,
      blobBytesMounted: bytes,
      blobsUploaded: 0,
      blobBytesUp: 0,
    });
    // The end-of-build line tells mounts from uploads.
    expect(statsLine(cache)).toContain(
      `0 uploaded (0.0 MB), 3 mounted (${(bytes / 1e6).toFixed(1)} MB)`,
    );
    const target = reg.client('ci/build-cache');
    const digests = [config, ...layers].map((b) => sha256Digest(b));
    for (const d of digests) expect(await target.hasBlob(d)).toBe(true);
    expect((await target.listTags()).sort()).toEqual(digests.map((d) => blobTag(d)).sort());
  });

  it('a mount the registry cannot do (the source lacks the blob) falls back to an upload', async () => {
    const bytes = randomBytes(30_000);
    const digest = sha256Digest(bytes);
    const file = path.join(tmp.path, 'unmountable');
    writeFileSync(file, bytes);
    const warnings: string[] = [];
    const cache = reg.buildCache('ci/fallback', 'readwrite', warnings);
    cache.queueBlobUpload(digest, bytes.length, file, {
      host: reg.host,
      repository: 'upstream/empty',
    });
    await cache.drain();
    expect(warnings).toEqual([]);
    expect(cache.stats).toMatchObject({
      blobsMounted: 0,
      blobBytesMounted: 0,
      blobsUploaded: 1,
      blobBytesUp: bytes.length,
    });
    expect(statsLine(cache)).toContain('1 uploaded (0.0 MB), 0 mounted (0.0 MB)');
    expect(await reg.client('ci/fallback').hasBlob(digest)).toBe(true);
    expect(await reg.client('ci/fallback').listTags()).toEqual([blobTag(digest)]);
  });
});
