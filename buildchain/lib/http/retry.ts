/**
 * When to retry an HTTP exchange and how long to wait first: 429 and 5xx answers (their
 * `Retry-After` honoured, in seconds or as an HTTP-date, capped) and dropped connections, with
 * exponential backoff. A server that accepts and never answers (a timeout) is not retried: it
 * would cost the timeout again on every attempt.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** Retry policy of one request (see `httpGet`). */
export interface RetryOptions {
  /** Attempts in all (default 4). */
  readonly attempts?: number;
  /** First backoff delay in ms, doubled on each retry (default 250). */
  readonly backoffMs?: number;
  /** Longest wait a `Retry-After` may impose, in ms (default 30 000). */
  readonly retryAfterCapMs?: number;
}

/** Statuses worth another try. */
const RETRY_STATUSES = new Set([408, 429, 500, 502, 503, 504]);
/** Connection failures worth another try (never ETIMEDOUT: see the module comment). */
const RETRY_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'EAI_AGAIN']);

/**
 * A `Retry-After` value in ms from `now` (delta-seconds or HTTP-date; a past date is 0), or
 * undefined when absent or malformed. Pure.
 */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** What a retry decision looks at: a response, or an error with a Node `code`. */
type Outcome =
  { readonly status: number; readonly headers: IncomingHttpHeaders } | { readonly code: string };

/**
 * The delay (ms) before attempt `attempt + 1`, or undefined when `outcome` is final (success,
 * a status not worth retrying, a timeout, or the attempts spent). Pure.
 */
export function retryDelayMs(
  outcome: Outcome,
  attempt: number,
  options: RetryOptions,
  now = Date.now(),
): number | undefined {
  if (attempt >= (options.attempts ?? 4)) return undefined;
  const backoff = (options.backoffMs ?? 250) * 2 ** (attempt - 1);
  if ('code' in outcome) return RETRY_CODES.has(outcome.code) ? backoff : undefined;
  if (!RETRY_STATUSES.has(outcome.status)) return undefined;
  const header = outcome.headers['retry-after'];
  const asked = parseRetryAfter(header, now);
  if (asked === undefined) return backoff;
  return Math.min(asked, options.retryAfterCapMs ?? 30_000);
}

/** Waits `ms`, or less when `signal` aborts (the caller checks it). */
export function sleepUnlessAborted(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve();
      return;
    }
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
