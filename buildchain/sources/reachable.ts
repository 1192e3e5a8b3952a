/**
 * Fast reachability check of a registry or repository host: DNS resolution plus a TCP connect,
 * bounded by a timeout, so that a build without network fails in seconds instead of hanging in
 * a tool's retries. Honours HTTPS_PROXY/HTTP_PROXY/NO_PROXY (then checks the proxy).
 */
import { lookup } from 'node:dns/promises';
import { connect } from 'node:net';

/** Result of {@link checkReachable}. */
export type ReachableResult =
  | { readonly ok: true; readonly host: string; readonly port: number }
  | { readonly ok: false; readonly host: string; readonly port: number; readonly reason: string };

/** `host`, `port` and scheme of a URL or of `host[:port]` (https assumed). Pure. */
export function targetOf(target: string): { host: string; port: number; https: boolean } {
  const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(target) ? target : `https://${target}`);
  const https = url.protocol !== 'http:';
  const port = url.port !== '' ? Number(url.port) : https ? 443 : 80;
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port, https };
}

/** True when `host` matches a NO_PROXY list (`*`, exact, or domain suffix). Pure. */
export function isNoProxy(host: string, noProxy: string): boolean {
  return noProxy
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '')
    .some(
      (p) =>
        p === '*' ||
        host === p.replace(/^\./, '') ||
        host.endsWith(p.startsWith('.') ? p : `.${p}`),
    );
}

/** The proxy a tool would use for `target`, from the environment, if any. */
export function proxyFor(target: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const { host, https } = targetOf(target);
  const proxy = https ? (env.HTTPS_PROXY ?? env.https_proxy) : (env.HTTP_PROXY ?? env.http_proxy);
  if (proxy === undefined || proxy === '') return undefined;
  if (isNoProxy(host.toLowerCase(), env.NO_PROXY ?? env.no_proxy ?? '')) return undefined;
  return proxy;
}

function tcpConnect(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(`no answer from ${host}:${port} within ${timeoutMs} ms`);
    }, timeoutMs);
    sock.once('connect', () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(undefined);
    });
    sock.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(`cannot connect to ${host}:${port}: ${err.code ?? err.message}`);
    });
  });
}

/**
 * Checks that `target` (a URL, or a registry `host[:port]`, https assumed) accepts TCP
 * connections within `timeoutMs` (default 3000). Never throws.
 */
export async function checkReachable(target: string, timeoutMs = 3000): Promise<ReachableResult> {
  const proxy = proxyFor(target);
  const { host, port } = targetOf(proxy ?? target);
  const deadline = Date.now() + timeoutMs;
  let address: string;
  try {
    const resolved = await Promise.race([
      lookup(host),
      new Promise<never>((_, reject) =>
        setTimeout(() => {
          reject(new Error(`DNS lookup timed out after ${timeoutMs} ms`));
        }, timeoutMs).unref(),
      ),
    ]);
    address = resolved.address;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return {
      ok: false,
      host,
      port,
      reason: `cannot resolve ${host}${code === undefined ? `: ${(err as Error).message}` : ` (${code})`}`,
    };
  }
  const reason = await tcpConnect(address, port, Math.max(1, deadline - Date.now()));
  if (reason !== undefined)
    return {
      ok: false,
      host,
      port,
      reason: proxy === undefined ? reason : `proxy ${proxy}: ${reason}`,
    };
  return { ok: true, host, port };
}
