/**
 * Fast reachability check of a registry or repository host before the first pull or download
 * from it: one GET through the HTTP layer (its proxies, its HTTP_TIMEOUT), no retry, any HTTP
 * answer counts. A host that does not resolve, refuses, or accepts and never answers fails once
 * per build, within HTTP_TIMEOUT, instead of once per image after retries.
 */
import { HttpError, httpDefaults, httpGet } from '../lib/http/get.ts';
import { proxyFor } from '../lib/http/proxy.ts';

/** Result of {@link checkReachable}. */
export type ReachableResult =
  | { readonly ok: true; readonly url: string }
  | {
      readonly ok: false;
      readonly url: string;
      readonly reason: string;
      /** The HTTP layer's advice for a timeout or an untrusted certificate, if that was it. */
      readonly advice?: string;
    };

/** The URL probed for a URL, or for a registry `host[:port]` (https, `/v2/`). Pure. */
export function probeUrl(target: string): URL {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(target)
    ? new URL(target)
    : new URL(`https://${target}/v2/`);
}

/** Codes after which another scheme cannot help (the host itself is not there or hangs). */
const FINAL_CODES = new Set([
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPROXY',
  'ABORT_ERR',
]);

async function probe(
  url: URL,
  timeoutMs: number | undefined,
  insecure: boolean,
  signal?: AbortSignal,
): Promise<HttpError | undefined> {
  try {
    const res = await httpGet(url, {
      retry: false,
      maxRedirects: 0,
      insecure,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
      ...(signal === undefined ? {} : { signal }),
    });
    res.body.resume();
    return undefined;
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
}

/** What the HTTP layer advises beyond "check the network": timeouts, certificates. */
function adviceOf(err: HttpError): { advice?: string } {
  const generic = err.hint === undefined || err.hint.startsWith('check the network');
  return generic ? {} : { advice: err.hint };
}

function reasonOf(err: HttpError): string {
  const proxy = proxyFor(new URL(err.url), httpDefaults().proxies);
  const what = err.code === '' ? err.detail : `${err.code} ${err.detail}`;
  return `${what} (${err.url}${proxy === undefined ? '' : ` through proxy ${proxy.host}`})`;
}

/**
 * Checks that `target` (a URL, or a registry `host[:port]`) answers HTTP within `timeoutMs`
 * (default HTTP_TIMEOUT). With `insecure`, https is tried without verification, then plain
 * http when TLS itself failed. Never throws (except on abort).
 */
export async function checkReachable(
  target: string,
  timeoutMs?: number,
  opts: { readonly insecure?: boolean; readonly signal?: AbortSignal } = {},
): Promise<ReachableResult> {
  const url = probeUrl(target);
  const insecure = opts.insecure === true;
  const err = await probe(url, timeoutMs, insecure, opts.signal);
  if (err === undefined) return { ok: true, url: url.href };
  if (insecure && url.protocol === 'https:' && !FINAL_CODES.has(err.code)) {
    const plain = new URL(url.href);
    plain.protocol = 'http:';
    const second = await probe(plain, timeoutMs, insecure, opts.signal);
    if (second === undefined) return { ok: true, url: plain.href };
    return { ok: false, url: plain.href, reason: reasonOf(second), ...adviceOf(second) };
  }
  return { ok: false, url: url.href, reason: reasonOf(err), ...adviceOf(err) };
}
