/**
 * The OCI repository client (lib/oci/repository-client.ts) opens a registry once: requests made
 * while its first one runs wait for it, then go out knowing the scheme (one HTTPS probe of an
 * insecure host) and the credentials (one auth challenge), instead of each probing and meeting
 * the challenge. Against a real distribution registry with basic auth, behind a loopback
 * counting proxy (plain HTTP).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OciRepositoryClient } from '../../buildchain/lib/oci/repository-client.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { stopAll } from '../helpers/servers.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import {
  CACHE_PASSWORD,
  CACHE_USER,
  startCacheRegistry,
  type CacheRegistry,
} from './cache-fixture.ts';

const missing = missingTools('docker-registry', 'htpasswd');

let tmp: TempDir;
let reg: CacheRegistry;
let proxy: http.Server;
let proxyHost = '';
const seen = { requests: 0, challenges: 0, tlsProbes: 0 };
/** Delay (ms) of each answer of the proxy, and of its failing of a TLS handshake. */
let delayMs = 0;

describe.skipIf(missing.length > 0)('OCI client: the first request opens the registry', () => {
  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-oci-open-');
    reg = await startCacheRegistry(tmp.path);
    const [host, port] = reg.host.split(':');
    proxy = http.createServer((req, res) => {
      seen.requests++;
      const up = http.request(
        { host, port, method: req.method, path: req.url, headers: req.headers },
        (r) => {
          if (r.statusCode === 401) seen.challenges++;
          setTimeout(() => {
            res.writeHead(r.statusCode ?? 502, r.headers);
            r.pipe(res);
          }, delayMs);
        },
      );
      req.pipe(up);
    });
    // A TLS handshake sent to this plain HTTP server: the client's HTTPS probe.
    proxy.on('clientError', (_err, socket) => {
      seen.tlsProbes++;
      setTimeout(() => socket.destroy(), delayMs);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyHost = `127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  }, 30_000);

  afterAll(async () => {
    await new Promise<void>((resolve) =>
      proxy.close(() => {
        resolve();
      }),
    );
    await stopAll();
    await tmp.cleanup();
  });

  it('eight requests at once: one HTTPS probe, one challenge, then each request once', async () => {
    const client = new OciRepositoryClient({
      host: proxyHost,
      repository: 'ci/open',
      insecure: true,
      credentials: `${CACHE_USER}:${CACHE_PASSWORD}`,
    });
    const digests = Array.from(
      { length: 8 },
      (_, i) => `sha256:${String(i).repeat(64).slice(0, 64)}`,
    );
    const found = await Promise.all(digests.map((d) => client.hasBlob(d)));
    expect(found).toEqual(Array.from({ length: 8 }, () => false));
    expect(seen.tlsProbes).toBe(1);
    expect(seen.challenges).toBe(1);
    // The first request twice (challenged, then answered), the seven others once.
    expect(seen.requests).toBe(9);
  });

  it('a first request that fails does not hold the others: each still gets its answer', async () => {
    const client = new OciRepositoryClient({
      host: proxyHost,
      repository: 'ci/open',
      insecure: true,
      credentials: `${CACHE_USER}:wrong`,
    });
    const results = await Promise.allSettled(
      [0, 1, 2].map((i) => client.hasBlob(`sha256:${String(i).repeat(64)}`)),
    );
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect(String((r as PromiseRejectedResult).reason)).toMatch(/credentials were refused/);
    }
  });

  it('the first read of an insecure host asks over HTTP without waiting for HTTPS to fail', async () => {
    delayMs = 700;
    try {
      const client = new OciRepositoryClient({
        host: proxyHost,
        repository: 'ci/open',
        insecure: true,
        // No auth challenge to answer: one answer over each scheme.
        credentials: `${CACHE_USER}:${CACHE_PASSWORD}`,
      });
      const t0 = Date.now();
      // 401 then the answered request (both over HTTP): two delayed answers, the failed
      // HTTPS attempt overlapping the first (one after the other it would be three).
      expect(await client.hasBlob(`sha256:${'e'.repeat(64)}`)).toBe(false);
      expect(Date.now() - t0).toBeLessThan(3 * 700);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(2 * 700 - 50);
    } finally {
      delayMs = 0;
    }
  });
});
