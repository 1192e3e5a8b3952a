/**
 * HTTPS without certificate checks (an insecure registry, lib/http/agents.ts): the agent loads
 * no CA list, and still talks TLS to a server with a self-signed certificate; without
 * `insecure` the same server is refused for its certificate. The OCI client, asking an
 * insecure host over both schemes at once, keeps HTTPS when it answers. Real TLS on 127.0.0.1
 * (openssl certificate).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBody } from '../../buildchain/lib/http/body.ts';
import { httpGet } from '../../buildchain/lib/http/get.ts';
import { OciRepositoryClient } from '../../buildchain/lib/oci/repository-client.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { closeAll, makeCertificate, serve } from '../helpers/site-stand-in.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const missing = missingTools('openssl');

let tmp: TempDir;
let port = 0;
const seen: string[] = [];

describe.skipIf(missing.length > 0)('insecure HTTPS', () => {
  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-insecure-tls-');
    const cert = makeCertificate(tmp.path);
    port = await serve((req, res) => {
      seen.push(`${req.method ?? ''} ${req.url ?? ''}`);
      if (req.url?.startsWith('/v2/ci/tls/blobs/') === true) {
        res.statusCode = 404;
        res.end();
        return;
      }
      res.end('over tls');
    }, cert);
  });

  afterAll(async () => {
    await closeAll();
    await tmp.cleanup();
  });

  it('insecure: the self-signed server answers over TLS', async () => {
    const res = await httpGet(`https://127.0.0.1:${port}/v2/`, { insecure: true, retry: false });
    expect(res.status).toBe(200);
    expect((await readBody(res.body)).toString()).toBe('over tls');
  });

  it('not insecure: the certificate is refused', async () => {
    await expect(httpGet(`https://127.0.0.1:${port}/v2/`, { retry: false })).rejects.toThrow(
      /certificate/i,
    );
  });

  it('the OCI client of an insecure host keeps HTTPS when it answers (HTTP asked beside)', async () => {
    const client = new OciRepositoryClient({
      host: `127.0.0.1:${port}`,
      repository: 'ci/tls',
      insecure: true,
    });
    const digest = `sha256:${'a'.repeat(64)}`;
    seen.length = 0;
    expect(await client.hasBlob(digest)).toBe(false);
    expect(await client.hasBlob(digest)).toBe(false);
    // Both over TLS (the server sees only TLS requests: plain HTTP never reaches its handler).
    expect(seen).toEqual([`HEAD /v2/ci/tls/blobs/${digest}`, `HEAD /v2/ci/tls/blobs/${digest}`]);
  });
});
