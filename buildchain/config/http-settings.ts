/**
 * The HTTP settings of registries and package fetches: HTTP_TIMEOUT and the proxies
 * (HTTPS_PROXY, HTTP_PROXY, NO_PROXY from .env or the environment; the lower-case spellings
 * from the environment only), validated at load.
 */
import { UsageError } from '../engine/failures.ts';
import { DEFAULT_HTTP_TIMEOUT_MS } from '../lib/http/get.ts';
import { parseProxyUrl, proxySettingsFromEnv, type ProxySettings } from '../lib/http/proxy.ts';

type Values = Readonly<Record<string, string | undefined>>;

/** Largest accepted HTTP_TIMEOUT (seconds). */
export const MAX_HTTP_TIMEOUT_S = 3600;

/** HTTP_TIMEOUT (whole seconds, 1 to 3600; empty: 20) in ms. Throws `invalid-env`. */
export function httpTimeoutMs(values: Values): number {
  const raw = (values.HTTP_TIMEOUT ?? '').trim();
  if (raw === '') return DEFAULT_HTTP_TIMEOUT_MS;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > MAX_HTTP_TIMEOUT_S) {
    throw new UsageError(
      'invalid-env',
      `HTTP_TIMEOUT=${raw} is not a whole number of seconds from 1 to ${String(MAX_HTTP_TIMEOUT_S)}`,
      `set HTTP_TIMEOUT in .env to e.g. ${String(DEFAULT_HTTP_TIMEOUT_MS / 1000)}, or leave it empty`,
    );
  }
  return Number(raw) * 1000;
}

/**
 * The proxies: upper-case keys from `values` (.env or environment), lower-case ones from
 * `environment`. A proxy that is not an http:// URL is `invalid-env` naming the key.
 */
export function proxySettings(values: Values, environment: Values = {}): ProxySettings {
  const merged: Record<string, string | undefined> = {};
  for (const key of ['HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY']) {
    merged[key] = values[key];
    merged[key.toLowerCase()] = environment[key.toLowerCase()];
  }
  const proxies = proxySettingsFromEnv(merged);
  for (const [key, value] of [
    ['HTTPS_PROXY', proxies.httpsProxy],
    ['HTTP_PROXY', proxies.httpProxy],
  ] as const) {
    if (value === '') continue;
    try {
      parseProxyUrl(value);
    } catch (err) {
      const spelled = merged[key] !== undefined && merged[key] !== '' ? key : key.toLowerCase();
      throw new UsageError(
        'invalid-env',
        `${spelled}: ${(err as Error).message}`,
        `set ${spelled} to the http:// URL of your proxy (e.g. http://proxy.example.com:3128), or unset it`,
      );
    }
  }
  return proxies;
}
