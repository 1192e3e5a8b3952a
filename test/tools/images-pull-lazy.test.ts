/**
 * An image pull reaches the registry only when something must come from it
 * (tasks/images/task-actions.ts, pull.ts): with the embedded mirror, the pinned manifest is read
 * from the registry's storage (checked against its digest) and blobs already in the store (a
 * runner whose blobs came from the build cache) need no request, so the mirror's registry is
 * not started; a blob missing from the store starts it and is fetched. Real docker-registry on
 * 127.0.0.1.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ActionContext } from '../../buildchain/engine/task.ts';
import { parseManifest } from '../../buildchain/lib/oci/manifest.ts';
import { openBlobStore } from '../../buildchain/media/images/blob-store.ts';
import { readStoredBlob } from '../../buildchain/sources/embedded/registry-storage.ts';
import { createSources, type Sources } from '../../buildchain/sources/sources.ts';
import { imagesPaths } from '../../buildchain/tasks/images/paths.ts';
import { pullImageAction } from '../../buildchain/tasks/images/task-actions.ts';
import { testConfig } from '../helpers/config.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { FIXTURE_CALICO_NODE, MIRROR_TOOLS, writeMirrorFixture } from './mirror-fixture.ts';

const missing = missingTools(...MIRROR_TOOLS);

function ctx(): ActionContext {
  return {
    task: 'images:pull:calico-node',
    signal: new AbortController().signal,
    root: '/',
    log: () => undefined,
    progress: () => undefined,
    exec: () => Promise.reject(new Error('no command expected')),
  };
}

describe.skipIf(missing.length > 0)('image pulls: the registry on first need only', () => {
  let tmp: TempDir;
  let sources: Sources;

  beforeEach(async () => {
    tmp = await makeTempDir('mk8s-pull-lazy-');
    await writeMirrorFixture(tmp.path);
    sources = createSources(testConfig(tmp.path, {}, 'embedded'));
  });

  afterEach(async () => {
    await sources.stop();
    await tmp.cleanup();
  });

  /** Every blob of calico-node (all instances of its list), as the registry stores them. */
  async function storedBlobs(): Promise<{ digest: string; bytes: Buffer }[]> {
    const storage = path.join(tmp.path, '_build/mirror/registry/data');
    const top = await sources.imageDigest(FIXTURE_CALICO_NODE);
    const bytesOf = async (d: string): Promise<Buffer> => {
      const b = await readStoredBlob(storage, d);
      if (b === undefined) throw new Error(`not stored: ${d}`);
      return b;
    };
    const list = parseManifest(await bytesOf(top ?? ''));
    if (list.kind !== 'list') throw new Error('calico-node is a list');
    const out: { digest: string; bytes: Buffer }[] = [];
    for (const m of list.manifests) {
      const image = parseManifest(await bytesOf(m.digest));
      if (image.kind !== 'image') throw new Error('nested list');
      for (const b of image.blobs) out.push({ digest: b.digest, bytes: await bytesOf(b.digest) });
    }
    return out;
  }

  async function pull(): Promise<string> {
    const config = testConfig(tmp.path, {}, 'embedded');
    const paths = imagesPaths(config);
    await pullImageAction(ctx(), {
      config,
      entry: FIXTURE_CALICO_NODE,
      sources,
      paths,
      store: openBlobStore(paths.blobs),
    });
    return path.join(config.isoRoot, 'images', 'calico-node', 'v3.8.2');
  }

  /** Puts `blobs` into the build's blob store, as an earlier pull (or the cache) would. */
  async function putInStore(blobs: readonly { digest: string; bytes: Buffer }[]): Promise<void> {
    const store = openBlobStore(imagesPaths(testConfig(tmp.path, {}, 'embedded')).blobs);
    for (const b of blobs)
      await store.ensure(
        b.digest,
        b.bytes.length,
        () => Promise.resolve(Readable.from([b.bytes])),
        'seed',
      );
  }

  it('manifests from the storage, blobs in the store: the registry never starts', async () => {
    const blobs = await storedBlobs();
    await putInStore(blobs);
    const dir = await pull();
    expect(sources.embedded?.started()).toEqual({ registry: false, web: false });
    const top = await sources.imageDigest(FIXTURE_CALICO_NODE);
    const storage = path.join(tmp.path, '_build/mirror/registry/data');
    expect(readFileSync(path.join(dir, 'manifest.json'))).toEqual(
      await readStoredBlob(storage, top ?? ''),
    );
    for (const b of blobs) expect(existsSync(path.join(dir, b.digest.slice(7)))).toBe(true);
  }, 120_000);

  it('a blob missing from the store starts the registry and is fetched', async () => {
    const blobs = await storedBlobs();
    const [first, ...rest] = blobs;
    await putInStore(rest);
    const dir = await pull();
    expect(sources.embedded?.started().registry).toBe(true);
    expect(readFileSync(path.join(dir, first?.digest.slice(7) ?? ''))).toEqual(first?.bytes);
  }, 120_000);

  it('a stored manifest is checked against its digest: a damaged one fails the pull, naming it', async () => {
    const top = (await sources.imageDigest(FIXTURE_CALICO_NODE)) ?? '';
    const storage = path.join(tmp.path, '_build/mirror/registry/data');
    const hex = top.slice(7);
    const file = path.join(
      storage,
      'docker/registry/v2/blobs/sha256',
      hex.slice(0, 2),
      hex,
      'data',
    );
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace('"schemaVersion": 2', '"schemaVersion":2 '),
    );
    await expect(pull()).rejects.toThrow(
      /calico-node:v3\.8\.2: manifest digest mismatch: expected sha256:[a-f0-9]{64}, the mirror's storage holds sha256:/,
    );
    expect(existsSync(path.join(tmp.path, '_build/root/images/calico-node/v3.8.2'))).toBe(false);
  }, 120_000);
});
