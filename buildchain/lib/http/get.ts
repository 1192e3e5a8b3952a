/**
 * The one HTTP layer of the buildchain (registries, RPM repositories): GET on node:http/https
 * with shared keep-alive agents, redirects (credentials dropped on another host), proxies from
 * the environment (lib/http/proxy.ts), a connect timeout and an idle (no bytes) timeout, retries
 * with backoff for 429, 5xx and dropped connections honouring `Retry-After`, the abort signal
 * honoured. Failures are {@link HttpError}s naming the URL; callers add their own context.
 */
import type { IncomingHttpHeaders, IncomingMessage, RequestOptions } from 'node:http';
import type { Readable } from 'node:stream';
import { TaskError } from '../errors.ts';
import { requestOptions } from './agents.ts';
import { nodeHttp } from './node-http.ts';
import { NO_PROXIES, type ProxySettings } from './proxy.ts';
import { retryDelayMs, sleepUnlessAborted, type RetryOptions } from './retry.ts';

export type { RetryOptions } from './retry.ts';

/**
 * Default time (ms) a request may wait for a connection, and then for each byte of the answer:
 * a server that accepts and never answers fails within it. HTTP_TIMEOUT's default.
 */
export const DEFAULT_HTTP_TIMEOUT_MS = 20_000;

/** Process-wide defaults, set once from the settings (see {@link configureHttp}). */
interface HttpDefaults {
  timeoutMs: number;
  proxies: ProxySettings;
}

const defaults: HttpDefaults = { timeoutMs: DEFAULT_HTTP_TIMEOUT_MS, proxies: NO_PROXIES };

/**
 * Sets the defaults of every later request: `timeoutMs` (HTTP_TIMEOUT) and the proxies
 * (HTTPS_PROXY, HTTP_PROXY, NO_PROXY). The configuration loader calls it once.
 */
export function configureHttp(values: Partial<HttpDefaults>): void {
  if (values.timeoutMs !== undefined) defaults.timeoutMs = values.timeoutMs;
  if (values.proxies !== undefined) defaults.proxies = values.proxies;
}

/** The current defaults (timeout in ms, proxies). */
export function httpDefaults(): Readonly<HttpDefaults> {
  return { ...defaults };
}

/** Options of {@link httpGet}. */
export interface HttpGetOptions {
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  /** Both timeouts below at once (ms). Default: HTTP_TIMEOUT ({@link configureHttp}). */
  readonly timeoutMs?: number;
  /** Time to establish a connection (TCP, proxy tunnel and TLS), in ms. */
  readonly connectTimeoutMs?: number;
  /** Time without a byte from the server (before and during the body), in ms. */
  readonly idleTimeoutMs?: number;
  /** HTTPS without certificate verification. */
  readonly insecure?: boolean;
  /** Redirects followed (default 5); past that, the 3xx response is returned. */
  readonly maxRedirects?: number;
  /** Retries of 429, 5xx and dropped connections (default 4 attempts); `false`: one attempt. */
  readonly retry?: RetryOptions | false;
  /** Proxies (default: the configured ones, from the environment). */
  readonly proxies?: ProxySettings;
}

/** A response: the body must be consumed (or `resume()`d) to free the connection. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Errors with an {@link HttpError} on idle timeout or abort. */
  readonly body: Readable;
  /** The URL that answered (after redirects). */
  readonly url: URL;
}

const TIMEOUT_HINT =
  'the server accepted the connection but did not answer in time: check it (or the proxy), ' +
  'or raise HTTP_TIMEOUT in .env if it is only slow';

const CERTIFICATE_HINT =
  'the server certificate is not trusted here: if a proxy or mirror uses a private CA, give ' +
  'its PEM file in NODE_EXTRA_CA_CERTS; a registry may also be listed in INSECURE_REGISTRIES';

/** True for Node's TLS certificate verification codes. */
function isCertificateCode(code: string): boolean {
  return /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code);
}

/** A failed exchange: `unreachable` (or `aborted`), naming the URL; `code` as Node reports it. */
export class HttpError extends TaskError {
  /** The URL requested, without credentials. */
  readonly url: string;
  /** Node's error code (`ECONNREFUSED`, `ETIMEDOUT`, `ABORT_ERR`, ...) or ''. */
  readonly code: string;
  /** The underlying error's message. */
  readonly detail: string;

  constructor(url: URL, code: string, detail: string) {
    const shown = displayUrl(url);
    const aborted = code === 'ABORT_ERR';
    super(
      aborted ? 'aborted' : 'unreachable',
      aborted
        ? `request to ${shown} aborted`
        : `cannot reach ${shown}: ${code === '' ? detail : `${code} ${detail}`}`,
      aborted
        ? {}
        : {
            hint:
              code === 'ETIMEDOUT'
                ? TIMEOUT_HINT
                : isCertificateCode(code)
                  ? CERTIFICATE_HINT
                  : 'check the network and the URL (mirror and proxy settings in .env)',
          },
    );
    this.name = 'HttpError';
    this.url = shown;
    this.code = code;
    this.detail = detail;
  }
}

/** A URL as shown in messages: user and password left out. Pure. */
export function displayUrl(url: URL): string {
  if (url.username === '' && url.password === '') return url.href;
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return copy.href;
}

/** `20 s`, `500 ms`. */
export function formatDuration(ms: number): string {
  return ms % 1000 === 0 ? `${String(ms / 1000)} s` : `${String(ms)} ms`;
}

function toHttpError(err: unknown, url: URL, signal: AbortSignal | undefined): HttpError {
  if (err instanceof HttpError) return err;
  const code = (err as { code?: unknown }).code;
  if (signal?.aborted === true) return new HttpError(url, 'ABORT_ERR', 'aborted');
  return new HttpError(
    url,
    typeof code === 'string' ? code : '',
    err instanceof Error ? err.message : String(err),
  );
}

/**
 * GETs `url`, following redirects and retrying transient failures. Resolves with the first
 * non-redirect response (any status: a 429 or 5xx once the retries are spent); rejects with an
 * {@link HttpError} when no response comes.
 */
export async function httpGet(url: string | URL, opts: HttpGetOptions = {}): Promise<HttpResponse> {
  let current = new URL(url);
  let headers: Record<string, string> = { ...opts.headers };
  for (let left = opts.maxRedirects ?? 5; ; left--) {
    const res = await exchangeWithRetries(current, headers, opts);
    const location = res.headers.location;
    if (res.status < 300 || res.status >= 400 || location === undefined || left <= 0) return res;
    res.body.resume();
    const next = new URL(location, current);
    if (next.host !== current.host) {
      headers = Object.fromEntries(
        Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'),
      );
    }
    current = next;
  }
}

async function exchangeWithRetries(
  url: URL,
  headers: Record<string, string>,
  opts: HttpGetOptions,
): Promise<HttpResponse> {
  const retry = opts.retry === false ? { attempts: 1 } : (opts.retry ?? {});
  for (let attempt = 1; ; attempt++) {
    let outcome: HttpResponse | HttpError;
    try {
      outcome = await exchange(url, headers, opts);
    } catch (err) {
      outcome = toHttpError(err, url, opts.signal);
    }
    const delay = retryDelayMs(outcome, attempt, retry);
    if (delay === undefined) {
      if (outcome instanceof HttpError) throw outcome;
      return outcome;
    }
    if (!(outcome instanceof HttpError)) outcome.body.resume();
    await sleepUnlessAborted(delay, opts.signal);
    if (opts.signal?.aborted === true) throw new HttpError(url, 'ABORT_ERR', 'aborted');
  }
}

/** Options of {@link httpRequest}: those of {@link httpGet} plus a request body. */
export interface HttpRequestOptions extends HttpGetOptions {
  /** The request body: bytes, or a stream opened for this request (piped as it is read). */
  readonly body?: Buffer | (() => Readable);
}

/**
 * One request with any method (HEAD, PUT, POST, PATCH, DELETE: registry uploads), on the same
 * agents, timeouts and signal as {@link httpGet}. Redirects are not followed (a body cannot be
 * sent twice): the 3xx response is returned. Rejects with an {@link HttpError} when no
 * response comes.
 */
export function httpRequest(
  method: string,
  url: string | URL,
  opts: HttpRequestOptions = {},
): Promise<HttpResponse> {
  return exchange(new URL(url), { ...opts.headers }, opts, method, opts.body);
}

/** One request/response on the shared agents, with both timeouts and the signal. */
function exchange(
  url: URL,
  headers: Record<string, string>,
  opts: HttpGetOptions,
  method = 'GET',
  body?: Buffer | (() => Readable),
): Promise<HttpResponse> {
  const connectMs = opts.connectTimeoutMs ?? opts.timeoutMs ?? defaults.timeoutMs;
  const idleMs = opts.idleTimeoutMs ?? opts.timeoutMs ?? defaults.timeoutMs;
  const signal = opts.signal;
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(new HttpError(url, 'ABORT_ERR', 'aborted'));
      return;
    }
    const isHttps = url.protocol === 'https:';
    if (!isHttps && url.protocol !== 'http:') {
      reject(new HttpError(url, 'ERR_INVALID_PROTOCOL', `unsupported protocol ${url.protocol}`));
      return;
    }
    let options: RequestOptions;
    try {
      options = requestOptions(url, headers, {
        insecure: opts.insecure === true,
        proxies: opts.proxies ?? defaults.proxies,
        connectMs,
      });
    } catch (err) {
      reject(new HttpError(url, 'EPROXY', (err as Error).message));
      return;
    }
    let response: IncomingMessage | undefined;
    const fail = (err: HttpError): void => {
      clearTimeout(connectTimer);
      signal?.removeEventListener('abort', onAbort);
      if (response === undefined) req.destroy(err);
      else response.destroy(err);
    };
    const onAbort = (): void => {
      fail(new HttpError(url, 'ABORT_ERR', 'aborted'));
    };
    const { http, https } = nodeHttp();
    const req = (options.protocol === 'https:' ? https : http).request({ ...options, method });
    const connectTimer = setTimeout(() => {
      fail(
        new HttpError(
          url,
          'ETIMEDOUT',
          `no connection within ${formatDuration(connectMs)} (HTTP_TIMEOUT)`,
        ),
      );
    }, connectMs);
    req.on('socket', (socket) => {
      // A TLS socket is ready once its handshake is done ('unknown' while it runs; a tunnelled
      // socket is already connected to the proxy by then).
      const protocol = socket instanceof nodeHttp().tls.TLSSocket ? socket.getProtocol() : 'plain';
      const pending = socket.connecting || protocol === null || protocol === 'unknown';
      if (!pending) clearTimeout(connectTimer);
      else
        socket.once(isHttps ? 'secureConnect' : 'connect', () => {
          clearTimeout(connectTimer);
        });
    });
    req.setTimeout(idleMs, () => {
      fail(
        new HttpError(
          url,
          'ETIMEDOUT',
          `no answer within ${formatDuration(idleMs)} (HTTP_TIMEOUT)`,
        ),
      );
    });
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('error', (err) => {
      clearTimeout(connectTimer);
      signal?.removeEventListener('abort', onAbort);
      reject(toHttpError(err, url, signal));
    });
    req.on('response', (res) => {
      response = res;
      clearTimeout(connectTimer);
      res.once('close', () => {
        signal?.removeEventListener('abort', onAbort);
      });
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res, url });
    });
    if (typeof body === 'function') {
      const src = body();
      src.once('error', (err) => {
        fail(toHttpError(err, url, signal));
      });
      src.pipe(req);
    } else req.end(body);
  });
}
