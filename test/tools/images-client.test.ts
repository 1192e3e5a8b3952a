/**
 * The registry client against small HTTP servers on 127.0.0.1 that misbehave on purpose:
 * transient 503s (retried), 404 (not retried), Bearer token auth with credentials from an
 * auth file. Plus the static-registry command line.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobStore } from '../../buildchain/media/images/blob-store.ts';
import { materialiseLayout } from '../../buildchain/media/images/layout.ts';
import { MEDIA_DOCKER_MANIFEST, sha256Digest } from '../../buildchain/lib/oci/manifest.ts';
import { RegistryClient } from '../../buildchain/tasks/images/registry-client.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const REPO = path.resolve(import.meta.dirname, '../..');
const manifest = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_DOCKER_MANIFEST,
    config: { digest: sha256Digest(Buffer.from('{}')), size: 2 },
    layers: [],
  }),
);
const digest = sha256Digest(manifest);

describe('registry client: retries, errors, auth', () => {
  let server: http.Server;
  let host = '';
  let tmp: TempDir;
  const hits = new Map<string, number>();

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-images-client-');
    server = http.createServer((req, res) => {
      const url = req.url ?? '';
      hits.set(url, (hits.get(url) ?? 0) + 1);
      const n = hits.get(url) ?? 0;
      if (url.startsWith('/token')) {
        const ok =
          req.headers.authorization === `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;
        res
          .writeHead(ok ? 200 : 401, { 'content-type': 'application/json' })
          .end(ok ? '{"token":"tok"}' : '{}');
      } else if (url === `/v2/flaky/x/manifests/${digest}` && n <= 2) {
        res.writeHead(503).end('busy');
      } else if (url.startsWith('/v2/private/') && req.headers.authorization !== 'Bearer tok') {
        res
          .writeHead(401, {
            'www-authenticate': `Bearer realm="http://${host}/token",service="test",scope="repository:private/x:pull"`,
          })
          .end();
      } else if (url.endsWith(`/manifests/${digest}`) && !url.startsWith('/v2/gone/')) {
        res.writeHead(200, { 'content-type': MEDIA_DOCKER_MANIFEST }).end(manifest);
      } else {
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await tmp.cleanup();
  });

  const client = (authFile?: string): RegistryClient =>
    new RegistryClient({
      endpoint: { host, pathPrefix: '', insecure: true, ...(authFile ? { authFile } : {}) },
      backoffMs: 10,
    });

  it('retries transient 503s with backoff', async () => {
    const r = await client().getManifest('flaky/x', digest);
    expect(r.bytes.equals(manifest)).toBe(true);
    expect(hits.get(`/v2/flaky/x/manifests/${digest}`)).toBe(3);
  });

  it('does not retry a 404 and says what to check', async () => {
    const err = (await client()
      .getManifest('gone/x', digest)
      .catch((e: unknown) => e)) as { reason?: string; message: string; hint?: string };
    expect(hits.get(`/v2/gone/x/manifests/${digest}`)).toBe(1);
    expect(err.reason).toBe('invalid-input');
    expect(err.message).toContain(`not found on the registry: ${host}/gone/x`);
    expect(err.hint).toContain('images/images.yaml');
  });

  it('answers a Bearer challenge with credentials from the auth file', async () => {
    const authFile = path.join(tmp.path, 'auth.json');
    await writeFile(
      authFile,
      JSON.stringify({
        auths: { [host]: { auth: Buffer.from('alice:s3cret').toString('base64') } },
      }),
    );
    const r = await client(authFile).getManifest('private/x', digest);
    expect(r.bytes.equals(manifest)).toBe(true);
    const empty = path.join(tmp.path, 'empty.json');
    await writeFile(empty, '{"auths":{}}');
    const denied = (await client(empty)
      .getManifest('private/x', digest)
      .catch((e: unknown) => e)) as { message: string };
    expect(denied.message).toContain('token request');
    // REGISTRY_AUTH_FILE set but missing: named, not silently anonymous.
    const missing = (await client(path.join(tmp.path, 'none.json'))
      .getManifest('private/x', digest)
      .catch((e: unknown) => e)) as { message: string };
    expect(missing.message).toContain(
      `REGISTRY_AUTH_FILE=${path.join(tmp.path, 'none.json')} cannot be read`,
    );
  });

  it('the store rejects a blob whose bytes do not match, keeping nothing', async () => {
    const store = new BlobStore(path.join(tmp.path, 'blobs'), 1);
    const { Readable } = await import('node:stream');
    const want = sha256Digest(Buffer.from('good'));
    await expect(
      store.ensure(want, 4, () => Promise.resolve(Readable.from([Buffer.from('evil')])), 'img:1'),
    ).rejects.toMatchObject({
      reason: 'digest-mismatch',
    });
    expect(store.has(want)).toBe(false);
    // Concurrent callers share one download.
    let opens = 0;
    const open = (): Promise<InstanceType<typeof Readable>> => {
      opens++;
      return Promise.resolve(Readable.from([Buffer.from('good')]));
    };
    await Promise.all([store.ensure(want, 4, open, 'a'), store.ensure(want, 4, open, 'b')]);
    expect(opens).toBe(1);
    expect(store.stats.bytesFetched).toBe(4 + 4);
  });
});

describe('static-registry command line', () => {
  it('prints the include for an images dir and rejects exclusive options with exit 2', async () => {
    const tmp = await makeTempDir('mk8s-images-sr-');
    try {
      const blob = path.join(tmp.path, 'blob');
      const config = Buffer.from('{}');
      await writeFile(blob, config);
      const { rename } = await import('node:fs/promises');
      const named = path.join(tmp.path, sha256Digest(config).slice(7));
      await rename(blob, named);
      await materialiseLayout({
        dest: path.join(tmp.path, 'images', 'app', '1.0'),
        manifest,
        blobs: [named],
      });
      const run = promisify(execFile);
      const bin = path.join(REPO, 'bin', 'static-container-registry.js');
      const { stdout } = await run('node', [
        bin,
        '--name-prefix',
        'p',
        '--server-root',
        '$root',
        path.join(tmp.path, 'images'),
      ]);
      expect(stdout).toContain('location = "/v2/p/app/manifests/1.0" {');
      expect(stdout).toContain(`location = "/v2/p/app/manifests/${digest}" {`);
      expect(stdout).toContain('alias "$root/app/1.0/";');
      const bad = await run('node', [bin, '--omit-constants', '--only-constants']).catch(
        (e: unknown) => e as { code: number; stderr: string },
      );
      expect(bad).toMatchObject({ code: 2 });
    } finally {
      await tmp.cleanup();
    }
  });
});
