/**
 * The shared keep-alive agents of the HTTP layer and the route of one request: direct, through
 * a CONNECT tunnel (https via a proxy), or in absolute-URI form to the proxy (http via a proxy).
 */
import type { Agent as HttpAgent, RequestOptions } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import { nodeHttp } from './node-http.ts';
import { createTunnelAgent, proxyAuthorization, proxyFor, type ProxySettings } from './proxy.ts';

const AGENT_OPTIONS = { keepAlive: true, maxSockets: 16 };

interface SharedAgents {
  readonly http: HttpAgent;
  readonly https: HttpsAgent;
  readonly insecureHttps: HttpsAgent;
}
let shared: SharedAgents | undefined;

/** The keep-alive agents, made on the first request (node:http loads then). */
function sharedAgents(): SharedAgents {
  if (shared === undefined) {
    const { http, https } = nodeHttp();
    shared = {
      http: new http.Agent(AGENT_OPTIONS),
      https: new https.Agent(AGENT_OPTIONS),
      // No certificate is checked: no CA list either (loading the root store costs ~30 ms of
      // CPU, on the first probe of an insecure registry).
      insecureHttps: new https.Agent({ ...AGENT_OPTIONS, rejectUnauthorized: false, ca: [] }),
    };
  }
  return shared;
}
const tunnelAgents = new Map<string, HttpsAgent>();

/** How {@link requestOptions} routes a request. */
export interface RouteOptions {
  /** HTTPS without certificate verification. */
  readonly insecure: boolean;
  readonly proxies: ProxySettings;
  /** Connect timeout (ms) of a proxy tunnel. */
  readonly connectMs: number;
}

/** The agent and request target for `url` (direct, or through the proxy). */
export function requestOptions(
  url: URL,
  headers: Record<string, string>,
  opts: RouteOptions,
): RequestOptions {
  const isHttps = url.protocol === 'https:';
  const proxy = proxyFor(url, opts.proxies);
  const auth: Record<string, string> = {};
  if (url.username !== '' || url.password !== '') {
    const creds = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    auth.authorization = `Basic ${Buffer.from(creds).toString('base64')}`;
  }
  const all = { ...auth, ...headers };
  const direct = {
    protocol: url.protocol,
    hostname: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port,
    path: `${url.pathname}${url.search}`,
    method: 'GET',
    headers: all,
  };
  if (proxy === undefined) {
    const agents = sharedAgents();
    const agent = isHttps ? (opts.insecure ? agents.insecureHttps : agents.https) : agents.http;
    return { ...direct, agent };
  }
  if (isHttps) {
    const key = `${proxy.href}|${String(opts.insecure)}|${String(opts.connectMs)}`;
    let agent = tunnelAgents.get(key);
    if (agent === undefined) {
      agent = createTunnelAgent(proxy, opts.connectMs, {
        ...AGENT_OPTIONS,
        rejectUnauthorized: !opts.insecure,
      });
      tunnelAgents.set(key, agent);
    }
    return { ...direct, agent };
  }
  // Plain http through the proxy: the request line carries the absolute URL.
  const proxyAuth = proxyAuthorization(proxy);
  const target = new URL(url.href);
  target.username = '';
  target.password = '';
  return {
    protocol: 'http:',
    hostname: proxy.hostname.replace(/^\[|\]$/g, ''),
    port: proxy.port === '' ? 80 : proxy.port,
    path: target.href,
    method: 'GET',
    headers: {
      ...all,
      host: url.host,
      ...(proxyAuth === undefined ? {} : { 'proxy-authorization': proxyAuth }),
    },
    agent: sharedAgents().http,
  };
}
