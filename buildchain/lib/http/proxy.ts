/**
 * Proxies from the environment, as Go programs (skopeo, containers/image) and curl read them:
 * `HTTPS_PROXY` for https URLs (a CONNECT tunnel), `HTTP_PROXY` for http URLs (requests in
 * absolute-URI form), `NO_PROXY` for the hosts reached directly; upper case first, then lower
 * case. Loopback hosts (`localhost`, 127.0.0.0/8, ::1) never go through a proxy, as in Go.
 */
import type { Agent as HttpsAgent, AgentOptions, RequestOptions } from 'node:https';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import { nodeHttp } from './node-http.ts';

/** The proxy settings of one build ('' = none). */
export interface ProxySettings {
  /** Proxy URL for https requests (`http://[user:pass@]host:port`). */
  readonly httpsProxy: string;
  /** Proxy URL for http requests. */
  readonly httpProxy: string;
  /** Comma- or space-separated hosts, `.domains`, IPs, CIDRs, `host:port`, or `*`. */
  readonly noProxy: string;
}

/** No proxy at all. */
export const NO_PROXIES: ProxySettings = { httpsProxy: '', httpProxy: '', noProxy: '' };

function first(env: Readonly<Record<string, string | undefined>>, ...keys: string[]): string {
  for (const k of keys) {
    const v = env[k]?.trim();
    if (v !== undefined && v !== '') return v;
  }
  return '';
}

/** The proxy variables of an environment (upper case wins, as in Go). Pure. */
export function proxySettingsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): ProxySettings {
  return {
    httpsProxy: first(env, 'HTTPS_PROXY', 'https_proxy'),
    httpProxy: first(env, 'HTTP_PROXY', 'http_proxy'),
    noProxy: first(env, 'NO_PROXY', 'no_proxy'),
  };
}

/**
 * The URL of a proxy setting (`host:port` means `http://host:port`); throws an Error naming
 * the problem when it is not an http:// URL with a host. Pure.
 */
export function parseProxyUrl(value: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error(`'${value}' is not a URL (expected http://host:port)`);
  }
  if (url.protocol !== 'http:') {
    throw new Error(
      `'${value}': only http:// proxies are supported (https is tunnelled through them with CONNECT)`,
    );
  }
  if (url.hostname === '') throw new Error(`'${value}' has no host (expected http://host:port)`);
  return url;
}

function bareHost(host: string): string {
  return host.toLowerCase().replace(/^\[|\]$/g, '');
}

/** True for `localhost` and loopback addresses (never proxied). Pure. */
export function isLoopbackHost(host: string): boolean {
  const h = bareHost(host);
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1';
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function inCidr(host: string, cidr: string): boolean {
  const [net = '', bitsText = ''] = cidr.split('/');
  const bits = Number(bitsText);
  if (isIP(host) !== 4 || isIP(net) !== 4 || !Number.isInteger(bits) || bits < 0 || bits > 32) {
    return false;
  }
  if (bits === 0) return true;
  const mask = (0xffffffff << (32 - bits)) >>> 0;
  return (ipv4ToInt(host) & mask) >>> 0 === (ipv4ToInt(net) & mask) >>> 0;
}

/**
 * True when `host` (and `port`) matches a NO_PROXY list: `*`; an exact host or IP; a domain
 * matching itself and its subdomains (`example.com`, `.example.com`); an IPv4 CIDR; any of
 * them with `:port` matching only that port. Pure.
 */
export function isNoProxy(host: string, port: string, noProxy: string): boolean {
  const h = bareHost(host);
  for (const raw of noProxy.split(/[\s,]+/)) {
    let entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return true;
    if (entry.includes('/')) {
      if (inCidr(h, entry)) return true;
      continue;
    }
    const m = /^(\[[^\]]*\]|[^:]+):(\d+)$/.exec(entry);
    if (m !== null) {
      if (m[2] !== port) continue;
      entry = m[1] ?? '';
    }
    entry = bareHost(entry);
    const domain = entry.replace(/^\*?\./, '');
    if (h === domain || h.endsWith(`.${domain}`)) return true;
  }
  return false;
}

/** The proxy to use for `url` under `settings`, or undefined for a direct connection. */
export function proxyFor(url: URL, settings: ProxySettings): URL | undefined {
  const value = url.protocol === 'https:' ? settings.httpsProxy : settings.httpProxy;
  if (value === '' || isLoopbackHost(url.hostname)) return undefined;
  const port = url.port !== '' ? url.port : url.protocol === 'https:' ? '443' : '80';
  if (isNoProxy(url.hostname, port, settings.noProxy)) return undefined;
  return parseProxyUrl(value);
}

/** `Proxy-Authorization` header value for a proxy URL with credentials, if any. */
export function proxyAuthorization(proxy: URL): string | undefined {
  if (proxy.username === '' && proxy.password === '') return undefined;
  const creds = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return `Basic ${Buffer.from(creds).toString('base64')}`;
}

/** Raised when the proxy refuses the tunnel; `code` tells the HTTP layer what happened. */
class ProxyConnectError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

type ConnectCallback = (err: Error | null, stream: Duplex) => void;

type TunnelAgentClass = new (
  proxy: URL,
  connectTimeoutMs: number,
  options: AgentOptions,
) => HttpsAgent;
let tunnelAgentClass: TunnelAgentClass | undefined;

/**
 * An https agent opening each connection as a CONNECT tunnel through an http proxy, then TLS
 * to the target (SNI and verification as without a proxy). Connections are kept alive and
 * pooled per target like any agent's. (The class extends node:https's Agent, so it is made on
 * the first call: see lib/http/node-http.ts.)
 */
export function createTunnelAgent(
  proxy: URL,
  connectTimeoutMs: number,
  options: AgentOptions,
): HttpsAgent {
  tunnelAgentClass ??= defineTunnelAgent();
  return new tunnelAgentClass(proxy, connectTimeoutMs, options);
}

function defineTunnelAgent(): TunnelAgentClass {
  const { http, https, tls } = nodeHttp();
  return class TunnelAgent extends https.Agent {
    private readonly proxy: URL;
    private readonly connectTimeoutMs: number;

    constructor(proxy: URL, connectTimeoutMs: number, options: AgentOptions) {
      super(options);
      this.proxy = proxy;
      this.connectTimeoutMs = connectTimeoutMs;
    }

    // Node's agent accepts a connection handed to the callback (the asynchronous form).
    override createConnection(options: RequestOptions, callback?: ConnectCallback): undefined {
      if (callback === undefined) throw new Error('TunnelAgent needs the asynchronous form');
      const host = options.hostname ?? options.host ?? 'localhost';
      const port = options.port ?? 443;
      const target = `${isIP(host) === 6 ? `[${host}]` : host}:${String(port)}`;
      const headers: Record<string, string> = { host: target };
      const auth = proxyAuthorization(this.proxy);
      if (auth !== undefined) headers['proxy-authorization'] = auth;
      const req = http.request({
        host: this.proxy.hostname,
        port: this.proxy.port === '' ? 80 : Number(this.proxy.port),
        method: 'CONNECT',
        path: target,
        headers,
        agent: false,
      });
      req.once('connect', (res, socket) => {
        if (res.statusCode !== 200) {
          socket.destroy();
          fail(
            new ProxyConnectError(
              'EPROXY',
              `proxy ${this.proxy.host} refused CONNECT ${target}: HTTP ${String(res.statusCode)}`,
            ),
          );
          return;
        }
        const secure = tls.connect({
          ...(options as ConnectionOptions),
          host,
          socket,
          servername: isIP(host) === 0 ? host : '',
        });
        callback(null, secure);
      });
      const fail = (err: Error): void => {
        // Node's agent hands the error to the request waiting for this connection.
        (callback as (e: Error) => void)(err);
      };
      req.setTimeout(this.connectTimeoutMs, () => {
        req.destroy(
          new ProxyConnectError(
            'ETIMEDOUT',
            `proxy ${this.proxy.host} did not open a tunnel to ${target} within ${String(this.connectTimeoutMs / 1000)} s (HTTP_TIMEOUT)`,
          ),
        );
      });
      req.once('error', (err) => {
        fail(err);
      });
      req.end();
      return undefined;
    }
  };
}

/**
 * The environment handing these proxies to another program that fetches (dnf/libcurl, buildah,
 * skopeo): both spellings of each variable (libcurl reads `http_proxy` in lower case only),
 * and loopback added to NO_PROXY, which libcurl does not bypass by itself. Empty without
 * proxies. Pure.
 */
export function proxyEnvironment(settings: ProxySettings): Record<string, string> {
  if (settings.httpsProxy === '' && settings.httpProxy === '') return {};
  const env: Record<string, string> = {};
  const set = (name: string, value: string): void => {
    if (value === '') return;
    env[name.toUpperCase()] = value;
    env[name] = value;
  };
  set('https_proxy', settings.httpsProxy);
  set('http_proxy', settings.httpProxy);
  const noProxy = settings.noProxy
    .split(/[\s,]+/)
    .filter((s) => s !== '')
    .concat(['localhost', '127.0.0.1', '::1']);
  set('no_proxy', [...new Set(noProxy)].join(','));
  return env;
}
