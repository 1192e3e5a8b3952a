/**
 * The one HTTP layer of the buildchain (registries, RPM repositories): GET on node:http/https
 * with shared keep-alive agents, redirects (credentials dropped on another host), a connect
 * timeout and an idle (no bytes) timeout, the abort signal honoured. Failures are
 * {@link HttpError}s naming the URL; callers add their own context.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { TaskError } from '../errors.ts';

const AGENT_OPTIONS = { keepAlive: true, maxSockets: 16 };
const httpAgent = new http.Agent(AGENT_OPTIONS);
const httpsAgent = new https.Agent(AGENT_OPTIONS);
const insecureHttpsAgent = new https.Agent({ ...AGENT_OPTIONS, rejectUnauthorized: false });

/** Default time to establish a connection (TCP and TLS), in ms. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 8_000;
/** Default time without a byte from the server (before and during the body), in ms. */
export const DEFAULT_IDLE_TIMEOUT_MS = 20_000;

/** Options of {@link httpGet}. */
export interface HttpGetOptions {
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  /** Default {@link DEFAULT_CONNECT_TIMEOUT_MS}. */
  readonly connectTimeoutMs?: number;
  /** Default {@link DEFAULT_IDLE_TIMEOUT_MS}. */
  readonly idleTimeoutMs?: number;
  /** HTTPS without certificate verification. */
  readonly insecure?: boolean;
  /** Redirects followed (default 5); past that, the 3xx response is returned. */
  readonly maxRedirects?: number;
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
      aborted ? {} : { hint: 'check the network and the URL (mirror settings in .env)' },
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
 * GETs `url`, following redirects. Resolves with the first non-redirect response (any status);
 * rejects with an {@link HttpError} when no response comes.
 */
export async function httpGet(url: string | URL, opts: HttpGetOptions = {}): Promise<HttpResponse> {
  let current = new URL(url);
  let headers: Record<string, string> = { ...opts.headers };
  for (let left = opts.maxRedirects ?? 5; ; left--) {
    const res = await exchange(current, headers, opts);
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
  const connectMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const idleMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
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
    const agent = isHttps ? (opts.insecure === true ? insecureHttpsAgent : httpsAgent) : httpAgent;
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
    const req = (isHttps ? https : http).request(url, { method, headers, agent });
    const connectTimer = setTimeout(() => {
      fail(new HttpError(url, 'ETIMEDOUT', `no connection within ${connectMs} ms`));
    }, connectMs);
    req.on('socket', (socket) => {
      if (!socket.connecting) clearTimeout(connectTimer);
      else
        socket.once(isHttps ? 'secureConnect' : 'connect', () => {
          clearTimeout(connectTimer);
        });
    });
    req.setTimeout(idleMs, () => {
      fail(new HttpError(url, 'ETIMEDOUT', `no data for ${idleMs} ms`));
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
