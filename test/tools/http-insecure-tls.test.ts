/**
 * HTTPS without certificate checks (an insecure registry, lib/http/agents.ts): the agent loads
 * no CA list, and still talks TLS to a server with a self-signed certificate; without
 * `insecure` the same server is refused for its certificate. Real TLS on 127.0.0.1 (openssl
 * certificate).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBody } from '../../buildchain/lib/http/body.ts';
import { httpGet } from '../../buildchain/lib/http/get.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { closeAll, makeCertificate, serve } from '../helpers/site-stand-in.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const missing = missingTools('openssl');

let tmp: TempDir;
let port = 0;

describe.skipIf(missing.length > 0)('insecure HTTPS', () => {
  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-insecure-tls-');
    const cert = makeCertificate(tmp.path);
    port = await serve((_req, res) => {
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
});
