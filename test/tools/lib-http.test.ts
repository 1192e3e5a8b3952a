/**
 * The HTTP layer (lib/http) against loopback servers started here: a server that accepts and
 * never answers fails within the idle timeout naming the URL (once, not per retry), a TLS
 * handshake that never ends within the connect timeout; a redirect to another host (port) is
 * followed without the Authorization header; abort stops a request; a body streams. Retries
 * (Retry-After, backoff, what is final), NO_PROXY matching, a proxy refusing or hanging.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBody } from '../../buildchain/lib/http/body.ts';
import { DEFAULT_HTTP_TIMEOUT_MS, HttpError, httpGet } from '../../buildchain/lib/http/get.ts';
import {
  parseProxyUrl,
  proxyEnvironment,
  proxyFor,
  proxySettingsFromEnv,
} from '../../buildchain/lib/http/proxy.ts';
import { parseRetryAfter, retryDelayMs } from '../../buildchain/lib/http/retry.ts';
import { closeAll, serve, serveMute, startProxy } from '../helpers/site-stand-in.ts';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

const closers: (() => Promise<void>)[] = [];

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        if (server instanceof http.Server) server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  );
  return (server.address() as AddressInfo).port;
}

function httpServer(handler: Handler): Promise<number> {
  return listen(http.createServer(handler));
}

describe('lib/http: httpGet', () => {
  const sockets = new Set<net.Socket>();
  let silent = 0;
  let redirecting = 0;
  let target = 0;
  let streaming = 0;
  let slowBody = 0;
  const seen: IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    const mute = net.createServer((s) => {
      sockets.add(s); // accepts, reads, never answers
    });
    silent = await listen(mute);
    closers.push(() => {
      for (const s of sockets) s.destroy();
      return Promise.resolve();
    });
    target = await httpServer((req, res) => {
      seen.push(req.headers);
      res.end('moved here');
    });
    redirecting = await httpServer((req, res) => {
      seen.push(req.headers);
      if (req.url === '/final') {
        res.end('same host');
        return;
      }
      const location = req.url === '/same' ? '/final' : `http://127.0.0.1:${target}/blob`;
      res.writeHead(307, { location });
      res.end();
    });
    streaming = await httpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      for (let i = 0; i < 64; i++) res.write(Buffer.alloc(16 * 1024, i));
      res.end();
    });
    slowBody = await httpServer((_req, res) => {
      res.writeHead(200);
      res.write('first bytes'); // then nothing: the body stalls
    });
  });

  afterAll(async () => {
    await Promise.all(closers.map((c) => c()));
  });

  it('a server that accepts and never answers fails within the idle timeout, naming the URL', async () => {
    const url = `http://127.0.0.1:${silent}/v2/x/manifests/1`;
    const started = Date.now();
    const err = (await httpGet(url, { idleTimeoutMs: 1000 }).catch((e: unknown) => e)) as HttpError;
    const took = Date.now() - started;
    expect(err).toBeInstanceOf(HttpError);
    expect(err.reason).toBe('unreachable');
    expect(err.code).toBe('ETIMEDOUT');
    expect(err.message).toContain(url);
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(5000);
  });

  it('a TLS handshake that never completes fails within the connect timeout', async () => {
    const url = `https://127.0.0.1:${silent}/v2/`;
    const started = Date.now();
    const err = (await httpGet(url, { connectTimeoutMs: 500, idleTimeoutMs: 10_000 }).catch(
      (e: unknown) => e,
    )) as HttpError;
    expect(err).toMatchObject({ reason: 'unreachable', code: 'ETIMEDOUT' });
    expect(err.message).toContain(`${url}: ETIMEDOUT no connection within 500 ms (HTTP_TIMEOUT)`);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('by default a server that accepts and never answers fails in under 30 s, not retried', async () => {
    expect(DEFAULT_HTTP_TIMEOUT_MS).toBeLessThan(30_000);
    const url = `http://127.0.0.1:${silent}/v2/`;
    const started = Date.now();
    const err = (await httpGet(url, { timeoutMs: 700, retry: { backoffMs: 1 } }).catch(
      (e: unknown) => e,
    )) as HttpError;
    expect(err.message).toContain('no answer within 700 ms (HTTP_TIMEOUT)');
    expect(err.hint).toContain('HTTP_TIMEOUT');
    // One timeout, not one per attempt.
    expect(Date.now() - started).toBeLessThan(1400);
  });

  it('a body that stalls fails within the idle timeout, naming the URL', async () => {
    const url = `http://127.0.0.1:${slowBody}/big`;
    const res = await httpGet(url, { idleTimeoutMs: 1000 });
    expect(res.status).toBe(200);
    const err = (await readBody(res.body).catch((e: unknown) => e)) as HttpError;
    expect(err).toBeInstanceOf(HttpError);
    expect(err.message).toContain(url);
  });

  it('a 307 to another port is followed and the Authorization header is dropped there', async () => {
    seen.length = 0;
    const res = await httpGet(`http://127.0.0.1:${redirecting}/blob`, {
      headers: { authorization: 'Bearer secret', accept: '*/*' },
    });
    expect(res.status).toBe(200);
    expect(res.url.port).toBe(String(target));
    expect((await readBody(res.body)).toString()).toBe('moved here');
    expect(seen.map((h) => h.authorization)).toEqual(['Bearer secret', undefined]);
    expect(seen[1]?.accept).toBe('*/*');
  });

  it('a redirect on the same host keeps the Authorization header', async () => {
    seen.length = 0;
    const res = await httpGet(`http://127.0.0.1:${redirecting}/same`, {
      headers: { authorization: 'Bearer secret' },
    });
    expect((await readBody(res.body)).toString()).toBe('same host');
    expect(seen.map((h) => h.authorization)).toEqual(['Bearer secret', 'Bearer secret']);
  });

  it('past maxRedirects the 3xx response is returned', async () => {
    const res = await httpGet(`http://127.0.0.1:${redirecting}/blob`, { maxRedirects: 0 });
    res.body.resume();
    expect(res.status).toBe(307);
  });

  it('abort stops a request waiting for an answer, and a body being read', async () => {
    const ac = new AbortController();
    const started = Date.now();
    const pending = httpGet(`http://127.0.0.1:${silent}/x`, { signal: ac.signal });
    setTimeout(() => {
      ac.abort();
    }, 200);
    const err = (await pending.catch((e: unknown) => e)) as HttpError;
    expect(err.reason).toBe('aborted');
    expect(Date.now() - started).toBeLessThan(5000);

    const ac2 = new AbortController();
    const res = await httpGet(`http://127.0.0.1:${slowBody}/big`, { signal: ac2.signal });
    const reading = readBody(res.body).catch((e: unknown) => e);
    ac2.abort();
    expect(await reading).toMatchObject({ reason: 'aborted' });

    const ac3 = new AbortController();
    ac3.abort();
    await expect(
      httpGet(`http://127.0.0.1:${target}/`, { signal: ac3.signal }),
    ).rejects.toMatchObject({
      reason: 'aborted',
    });
  });

  it('a 200 streams its whole body; a refused connection names the URL and code', async () => {
    const res = await httpGet(`http://127.0.0.1:${streaming}/blob`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    let chunks = 0;
    let bytes = 0;
    for await (const chunk of res.body) {
      chunks++;
      bytes += (chunk as Buffer).length;
    }
    expect(bytes).toBe(64 * 16 * 1024);
    expect(chunks).toBeGreaterThan(1);

    const closed = await listen(net.createServer());
    await closers.pop()?.();
    const url = `http://user:pw@127.0.0.1:${closed}/repodata/repomd.xml`;
    const err = (await httpGet(url).catch((e: unknown) => e)) as HttpError;
    expect(err).toMatchObject({ reason: 'unreachable', code: 'ECONNREFUSED' });
    expect(err.message).toContain(`http://127.0.0.1:${closed}/repodata/repomd.xml`);
    expect(err.message).not.toContain('pw');
  });
});

describe('lib/http: retries and proxies', () => {
  afterAll(closeAll);

  it('Retry-After: seconds, HTTP-date, past dates, garbage; the delay is capped', () => {
    const now = Date.parse('2026-11-30T08:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Mon, 30 Nov 2026 08:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Mon, 30 Nov 2026 07:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-1', now)).toBeUndefined();
    const res = (
      status: number,
      retryAfter?: string,
    ): { status: number; headers: IncomingHttpHeaders } => ({
      status,
      headers: retryAfter === undefined ? {} : { 'retry-after': retryAfter },
    });
    expect(retryDelayMs(res(503), 1, { backoffMs: 100 })).toBe(100);
    expect(retryDelayMs(res(503), 3, { backoffMs: 100 })).toBe(400);
    expect(retryDelayMs(res(429, '7'), 1, {})).toBe(7000);
    expect(retryDelayMs(res(429, '3600'), 1, {})).toBe(30_000);
    expect(retryDelayMs(res(429, '3600'), 1, { retryAfterCapMs: 500 })).toBe(500);
    expect(retryDelayMs(res(429), 4, {})).toBeUndefined();
    expect(retryDelayMs(res(404), 1, {})).toBeUndefined();
    expect(retryDelayMs(res(501), 1, {})).toBeUndefined();
    expect(retryDelayMs({ code: 'ECONNRESET' }, 1, {})).toBe(250);
    expect(retryDelayMs({ code: 'ETIMEDOUT' }, 1, {})).toBeUndefined();
    expect(retryDelayMs({ code: 'ECONNREFUSED' }, 1, {})).toBeUndefined();
  });

  it('NO_PROXY: hosts, domains, CIDRs, ports, *; loopback is never proxied', () => {
    const p = {
      httpsProxy: 'proxy:3128',
      httpProxy: '',
      noProxy: 'example.com, .corp 10.0.0.0/8,h:8443',
    };
    expect(proxyFor(new URL('https://quay.io/'), p)?.href).toBe('http://proxy:3128/');
    expect(proxyFor(new URL('https://a.example.com/'), p)).toBeUndefined();
    expect(proxyFor(new URL('https://x.corp/'), p)).toBeUndefined();
    expect(proxyFor(new URL('https://10.2.3.4/'), p)).toBeUndefined();
    expect(proxyFor(new URL('https://11.2.3.4/'), p)).toBeDefined();
    expect(proxyFor(new URL('https://h:8443/'), p)).toBeUndefined();
    expect(proxyFor(new URL('https://h/'), p)).toBeDefined();
    expect(proxyFor(new URL('https://127.0.0.1:5000/'), p)).toBeUndefined();
    expect(proxyFor(new URL('https://localhost/'), p)).toBeUndefined();
    expect(proxyFor(new URL('https://[::1]/'), p)).toBeUndefined();
    expect(proxyFor(new URL('http://quay.io/'), p)).toBeUndefined();
    expect(proxySettingsFromEnv({ https_proxy: 'a', HTTPS_PROXY: 'b', no_proxy: 'c' })).toEqual({
      httpsProxy: 'b',
      httpProxy: '',
      noProxy: 'c',
    });
    expect(() => parseProxyUrl('socks5://x:1')).toThrow('only http:// proxies are supported');
  });

  it('the proxies handed to dnf and the builders: both spellings, loopback added to NO_PROXY', () => {
    expect(proxyEnvironment({ httpsProxy: '', httpProxy: '', noProxy: '.corp' })).toEqual({});
    expect(
      proxyEnvironment({ httpsProxy: 'http://p:3128', httpProxy: '', noProxy: '.corp' }),
    ).toEqual({
      HTTPS_PROXY: 'http://p:3128',
      https_proxy: 'http://p:3128',
      NO_PROXY: '.corp,localhost,127.0.0.1,::1',
      no_proxy: '.corp,localhost,127.0.0.1,::1',
    });
  });

  it('a proxy refusing the tunnel, or not answering, fails naming the proxy and the target', async () => {
    const proxy = await startProxy({});
    const proxies = { httpsProxy: proxy.url, httpProxy: '', noProxy: '' };
    const err = (await httpGet('https://registry.stand-in.test/v2/', { proxies }).catch(
      (e: unknown) => e,
    )) as HttpError;
    expect(err).toMatchObject({ reason: 'unreachable', code: 'EPROXY' });
    expect(err.message).toBe(
      `cannot reach https://registry.stand-in.test/v2/: EPROXY proxy 127.0.0.1:${String(proxy.port)} refused CONNECT registry.stand-in.test:443: HTTP 502`,
    );
    expect(proxy.log).toEqual([
      { method: 'CONNECT', target: 'registry.stand-in.test:443', proxyAuthorization: undefined },
    ]);
    const mute = await serveMute();
    const started = Date.now();
    const hung = (await httpGet('https://registry.stand-in.test/v2/', {
      proxies: { ...proxies, httpsProxy: `http://127.0.0.1:${String(mute)}` },
      timeoutMs: 700,
    }).catch((e: unknown) => e)) as HttpError;
    expect(hung.code).toBe('ETIMEDOUT');
    expect(hung.message).toContain('registry.stand-in.test');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('503 twice then 200: retried with backoff; 503 for ever: the last response after the attempts', async () => {
    let hits = 0;
    const port = await serve((_req, res) => {
      hits++;
      if (hits <= 2) res.writeHead(503).end('busy');
      else res.end('fine');
    });
    const res = await httpGet(`http://127.0.0.1:${String(port)}/`, { retry: { backoffMs: 5 } });
    expect((await readBody(res.body)).toString()).toBe('fine');
    expect(hits).toBe(3);
    hits = -100;
    const last = await httpGet(`http://127.0.0.1:${String(port)}/`, {
      retry: { attempts: 2, backoffMs: 5 },
    });
    last.body.resume();
    expect(last.status).toBe(503);
    expect(hits).toBe(-98);
  });
});
