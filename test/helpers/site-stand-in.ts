/**
 * An internet-like stand-in on 127.0.0.1 for site-mirror tests: small node HTTP(S) servers
 * playing registries (basic or bearer auth, blobs answered by a 307 to another port, 429 with
 * Retry-After), a blob store that rejects credentials, a server that accepts and never
 * answers, and a CONNECT / forward proxy that routes public host names (`registry-1.docker.io`,
 * `registry.k8s.io`, ...) to those loopback servers and logs what it saw. Every server is
 * closed by `closeAll()` (call it in afterAll).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { TLSSocket } from 'node:tls';
import { sha256Digest } from '../../buildchain/lib/oci/manifest.ts';
import type { Served, StandInRepo } from './stand-in-images.ts';

export {
  makeBaseImage,
  makeImage,
  makeMultiArch,
  repoOf,
  type Served,
  type StandInImage,
  type StandInRepo,
} from './stand-in-images.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const closers: (() => Promise<void>)[] = [];

/** Closes every server started here (connections included). */
export async function closeAll(): Promise<void> {
  const all = closers.splice(0);
  await Promise.all(all.map((c) => c()));
}

function track(server: net.Server): net.Server {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => {
          resolve();
        });
      }),
  );
  return server;
}

async function listen(server: net.Server): Promise<number> {
  track(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A self-signed certificate (openssl) for `*.stand-in.test`, the public names and 127.0.0.1. */
export interface Certificate {
  readonly key: Buffer;
  readonly cert: Buffer;
}

export function makeCertificate(dir: string): Certificate {
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=stand-in',
      '-addext',
      'subjectAltName=DNS:*.stand-in.test,DNS:registry-1.docker.io,DNS:registry.k8s.io,DNS:vault.centos.org,IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  return { key: readFileSync(key), cert: readFileSync(cert) };
}

/** Starts an HTTP (or, with `tls`, HTTPS) server on 127.0.0.1; resolves with its port. */
export function serve(handler: Handler, tls?: Certificate): Promise<number> {
  return listen(tls === undefined ? http.createServer(handler) : https.createServer(tls, handler));
}

/** A server that accepts connections, reads, and never answers. */
export function serveMute(): Promise<number> {
  return listen(net.createServer(() => undefined));
}

/** One request a proxy saw. */
export interface ProxyLogEntry {
  readonly method: string;
  /** `host:port` for CONNECT, the absolute URL otherwise. */
  readonly target: string;
  readonly proxyAuthorization: string | undefined;
}

/** A CONNECT / forward proxy routing `host:port` names to loopback ports. */
export interface StandInProxy {
  readonly port: number;
  readonly url: string;
  readonly log: ProxyLogEntry[];
}

/** Starts the proxy; `routes` maps `host:port` (as requested) to a loopback port. */
export async function startProxy(routes: Readonly<Record<string, number>>): Promise<StandInProxy> {
  const log: ProxyLogEntry[] = [];
  const server = http.createServer((req, res) => {
    const target = req.url ?? '';
    log.push({
      method: req.method ?? '',
      target,
      proxyAuthorization: req.headers['proxy-authorization'],
    });
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      res.writeHead(400).end('absolute URI expected');
      return;
    }
    const port = routes[`${url.hostname}:${url.port === '' ? '80' : url.port}`];
    if (port === undefined) {
      res.writeHead(502).end(`no route to ${url.host}`);
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    const upstream = http.request(
      {
        host: '127.0.0.1',
        port,
        path: `${url.pathname}${url.search}`,
        method: req.method,
        headers,
      },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connect', (req: IncomingMessage, client: net.Socket, head: Buffer) => {
    const target = req.url ?? '';
    log.push({ method: 'CONNECT', target, proxyAuthorization: req.headers['proxy-authorization'] });
    const port = routes[target];
    if (port === undefined) {
      client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n');
      return;
    }
    const upstream = net.connect(port, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    server.once('close', () => {
      upstream.destroy();
      client.destroy();
    });
  });
  const port = await listen(server);
  return { port, url: `http://127.0.0.1:${String(port)}`, log };
}

/** Options of {@link registryHandler}. */
export interface StandInRegistryOptions {
  readonly repos: ReadonlyMap<string, StandInRepo>;
  readonly auth?:
    | { readonly kind: 'basic'; readonly user: string; readonly password: string }
    | { readonly kind: 'bearer'; readonly user: string; readonly password: string };
  /** Base URL of a blob store: blob GETs are answered by a 307 to `<base>/blobs/<digest>`. */
  readonly blobRedirect?: string;
  /** The first `count` manifest GETs answer 429 with this Retry-After. */
  readonly tooMany?: { count: number; retryAfter: string };
}

/** What a stand-in registry saw: each request's path and Authorization header. */
export interface RegistryLog {
  readonly requests: { path: string; authorization: string | undefined }[];
}

/** The handler of a Docker Registry v2 stand-in (see {@link StandInRegistryOptions}). */
export function registryHandler(opts: StandInRegistryOptions): {
  handler: Handler;
  log: RegistryLog;
} {
  const log: RegistryLog = { requests: [] };
  const tokens = new Set<string>();
  let limited = 0;
  const basic = (user: string, password: string): string =>
    `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const handler: Handler = (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    log.requests.push({ path: url.pathname, authorization: req.headers.authorization });
    const auth = opts.auth;
    if (url.pathname === '/token' && auth?.kind === 'bearer') {
      if (req.headers.authorization !== basic(auth.user, auth.password)) {
        res
          .writeHead(401, { 'content-type': 'application/json' })
          .end('{"details":"bad credentials"}');
        return;
      }
      const token = `tok-${String(tokens.size + 1)}`;
      tokens.add(token);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token }));
      return;
    }
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    const allowed =
      auth === undefined ||
      (auth.kind === 'basic'
        ? req.headers.authorization === basic(auth.user, auth.password)
        : tokens.has((req.headers.authorization ?? '').replace(/^Bearer /, '')));
    if (!allowed) {
      const scheme = req.socket instanceof TLSSocket ? 'https' : 'http';
      const challenge =
        auth.kind === 'basic'
          ? 'Basic realm="stand-in"'
          : `Bearer realm="${scheme}://${req.headers.host ?? ''}/token",service="stand-in",scope="repository:${m?.[1] ?? ''}:pull"`;
      res
        .writeHead(401, { 'www-authenticate': challenge, 'content-type': 'application/json' })
        .end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    if (url.pathname === '/v2/') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    const repo = m?.[1] === undefined ? undefined : opts.repos.get(m[1]);
    const ref = m?.[3] ?? '';
    if (m?.[2] === 'manifests' && opts.tooMany !== undefined && limited < opts.tooMany.count) {
      limited++;
      res
        .writeHead(429, { 'retry-after': opts.tooMany.retryAfter })
        .end('{"errors":[{"code":"TOOMANYREQUESTS"}]}');
      return;
    }
    if (m?.[2] === 'manifests' && repo?.manifests.has(ref) === true) {
      const served = repo.manifests.get(ref) as Served;
      res
        .writeHead(200, {
          'content-type': served.mediaType,
          'docker-content-digest': sha256Digest(served.bytes),
        })
        .end(served.bytes);
      return;
    }
    if (m?.[2] === 'blobs' && repo?.blobs.has(ref) === true) {
      if (opts.blobRedirect !== undefined) {
        res.writeHead(307, { location: `${opts.blobRedirect}/blobs/${ref}` }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(repo.blobs.get(ref));
      return;
    }
    res
      .writeHead(404, { 'content-type': 'application/json' })
      .end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
  };
  return { handler, log };
}

/**
 * A blob store (the target of a registry's 307): serves `/blobs/<digest>` from `repos`, and
 * answers 403 to any request carrying credentials (as S3 does to a second auth scheme).
 */
export function blobStoreHandler(repos: ReadonlyMap<string, StandInRepo>): {
  handler: Handler;
  log: RegistryLog;
} {
  const log: RegistryLog = { requests: [] };
  const handler: Handler = (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    log.requests.push({ path: url.pathname, authorization: req.headers.authorization });
    if (req.headers.authorization !== undefined) {
      res.writeHead(403).end('credentials sent to the blob store');
      return;
    }
    const digest = url.pathname.replace(/^\/blobs\//, '');
    for (const repo of repos.values()) {
      const blob = repo.blobs.get(digest);
      if (blob !== undefined) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(blob);
        return;
      }
    }
    res.writeHead(404).end();
  };
  return { handler, log };
}
