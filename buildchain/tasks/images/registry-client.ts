/**
 * A small Docker Registry HTTP API v2 client (read-only) on the HTTP layer (lib/http: keep-alive,
 * proxies, redirects dropping credentials on another host, timeouts, retries of 429/5xx with
 * `Retry-After`): manifests by reference, blobs as streams, Bearer/Basic auth with credentials
 * from the auth file or its credential helpers, Docker Hub names mapped as containers/image
 * maps them, TLS verification unless the endpoint is insecure.
 */
import type { Readable } from 'node:stream';
import { execDirectWith } from '../../engine/exec/run-command.ts';
import { TaskError } from '../../engine/task.ts';
import { registryApiHost, registryRepository } from '../../config/mirrors.ts';
import type { RegistryEndpoint } from '../../sources/sources.ts';
import { MANIFEST_ACCEPT } from '../../lib/oci/manifest.ts';
import { readBody } from '../../lib/http/body.ts';
import { formatDuration, HttpError, httpGet, type HttpResponse } from '../../lib/http/get.ts';
import { parseRetryAfter } from '../../lib/http/retry.ts';
import { parseChallenge, type AuthChallenge } from '../../lib/oci/auth-challenge.ts';
import { findCredentials, type HelperRunner } from './registry-auth.ts';

/** Scheme chosen per insecure host after the first probe (HTTPS without verification, or HTTP). */
const schemeCache = new Map<string, 'https' | 'http'>();
/** The probe of an insecure host while it runs: requests made meanwhile wait for its answer. */
const probing = new Map<string, Promise<unknown>>();

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPROXY']);

/** Statuses the HTTP layer retries (see lib/http/retry.ts). */
const RETRIED_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/** Options for {@link RegistryClient}. */
export interface RegistryClientOptions {
  readonly endpoint: RegistryEndpoint;
  /** Attempts for transient failures (429, 5xx, dropped connections). Default 4. */
  readonly attempts?: number;
  /** First backoff delay in ms (doubles each retry). Default 250. */
  readonly backoffMs?: number;
  /** Longest wait a `Retry-After` may impose, in ms. Default 30 000. */
  readonly retryAfterCapMs?: number;
  /** Per-request timeout in ms. Default: HTTP_TIMEOUT. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

function errCode(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : '';
}

/** Read-only client for one registry endpoint. */
export class RegistryClient {
  private readonly endpoint: RegistryEndpoint;
  private readonly apiHost: string;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly retryAfterCapMs: number | undefined;
  private readonly timeoutMs: number | undefined;
  private readonly signal: AbortSignal | undefined;
  private readonly runHelper: HelperRunner;
  /** Authorization header value per scope, once obtained. */
  private readonly tokens = new Map<string, string>();

  constructor(opts: RegistryClientOptions) {
    this.endpoint = opts.endpoint;
    this.apiHost = registryApiHost(opts.endpoint.host);
    this.attempts = opts.attempts ?? 4;
    this.backoffMs = opts.backoffMs ?? 250;
    this.retryAfterCapMs = opts.retryAfterCapMs;
    this.timeoutMs = opts.timeoutMs;
    this.signal = opts.signal;
    // Credential helpers print secrets: run without logging their output anywhere.
    const exec = execDirectWith(opts.signal);
    this.runHelper = (argv, input) => exec(argv, { input, reject: false, timeoutMs: 60_000 });
  }

  /** Repository path on this endpoint (Docker Hub names normalised, the mirror prefix applied). */
  repoPath(repository: string): string {
    const repo = this.endpoint.upstream === undefined ? repository : registryRepository(this.endpoint.upstream, repository);
    return this.endpoint.pathPrefix === '' ? repo : `${this.endpoint.pathPrefix}/${repo}`;
  }

  /**
   * Where this endpoint serves `repository`'s blobs: the host it contacts and the repository
   * path there. The blob store hands it to the build cache, which mounts a blob from it
   * instead of uploading it when the cache lives on the same registry.
   */
  blobSource(repository: string): { host: string; repository: string } {
    return { host: this.apiHost, repository: this.repoPath(repository) };
  }

  /** GETs a manifest; resolves with its raw bytes and Content-Type. */
  async getManifest(repository: string, reference: string): Promise<{ bytes: Buffer; contentType: string }> {
    const res = await this.get(repository, `manifests/${reference}`, MANIFEST_ACCEPT);
    const bytes = await readBody(res.body);
    return { bytes, contentType: res.headers['content-type'] ?? '' };
  }

  /** GETs a blob; the caller consumes (and verifies) the stream. */
  async getBlob(repository: string, digest: string): Promise<Readable> {
    return (await this.get(repository, `blobs/${digest}`, '*/*')).body;
  }

  /** Tags of a repository (for locking unpinned images). */
  async listTags(repository: string): Promise<string[]> {
    const res = await this.get(repository, 'tags/list', 'application/json');
    const doc = JSON.parse((await readBody(res.body)).toString('utf8')) as { tags?: string[] | null };
    return doc.tags ?? [];
  }

  /** GET `/v2/<repo>/<suffix>` with auth (retries in the HTTP layer); rejects on a non-2xx final status. */
  private async get(repository: string, suffix: string, accept: string): Promise<HttpResponse> {
    const repo = this.repoPath(repository);
    const what = `${this.endpoint.host}/${repo} ${suffix}`;
    let res: HttpResponse;
    try {
      res = await this.authorized(`/v2/${repo}/${suffix}`, accept, `repository:${repo}:pull`);
    } catch (err) {
      throw this.wrap(err);
    }
    if (res.status >= 200 && res.status < 300) return res;
    const body = (await readBody(res.body, 64 * 1024).catch(() => Buffer.alloc(0))).toString('utf8').slice(0, 300);
    throw this.statusError(res, what, body);
  }

  private statusError(res: HttpResponse, what: string, body: string): TaskError {
    const status = res.status;
    if (status === 401 || status === 403) {
      return new TaskError('invalid-input', `registry denied access to ${what} (HTTP ${status}): ${body}`, {
        hint: 'log in with `skopeo login` (or set REGISTRY_AUTH_FILE), or check the repository name',
      });
    }
    if (status === 404) {
      return new TaskError('invalid-input', `not found on the registry: ${what} (HTTP 404): ${body}`, {
        hint: 'check the image source, version and digest in images/images.yaml, and REGISTRY_MIRRORS',
      });
    }
    const header = res.headers['retry-after'];
    const later = parseRetryAfter(header);
    const after = later === undefined ? '' : ` (asked to retry after ${formatDuration(Math.ceil(later / 1000) * 1000)})`;
    const tries = RETRIED_STATUSES.has(status) ? ` after ${this.attempts} attempts` : '';
    return new TaskError('unreachable', `registry error for ${what}: HTTP ${status}${tries}${after}: ${body}`, {
      hint: status === 429 ? 'the registry limits requests: retry later, log in (REGISTRY_AUTH_FILE) or use a mirror (REGISTRY_MIRRORS)' : 'retry later, or use another mirror (REGISTRY_MIRRORS)',
    });
  }

  private wrap(err: unknown): TaskError {
    if (isOwnError(err)) return err;
    const code = errCode(err);
    const msg = err instanceof HttpError ? err.detail : err instanceof Error ? err.message : String(err);
    if (code === 'ABORT_ERR' || this.signal?.aborted === true) return new TaskError('aborted', 'pull aborted');
    const kind = UNREACHABLE_CODES.has(code) ? 'cannot reach' : 'connection to';
    const host = this.apiHost === this.endpoint.host ? this.endpoint.host : `${this.endpoint.host} (${this.apiHost})`;
    return new TaskError('unreachable', `${kind} registry ${host}: ${code === '' ? msg : `${code} ${msg}`}`, {
      hint:
        (code === 'ETIMEDOUT' ? 'it accepted the connection but did not answer: raise HTTP_TIMEOUT in .env if it is only slow; otherwise ' : '') +
        'check the network and the proxy (HTTPS_PROXY, NO_PROXY), or map the upstream registry to a reachable mirror with REGISTRY_MIRRORS ' +
        '(and INSECURE_REGISTRIES for plain HTTP), or build with SOURCES=embedded',
    });
  }

  /** One request with the cached token; on 401 answers the challenge once and retries. */
  private async authorized(pathname: string, accept: string, scope: string): Promise<HttpResponse> {
    const token = this.tokens.get(scope);
    const headers: Record<string, string> = { accept };
    if (token !== undefined) headers.authorization = token;
    const res = await this.request(pathname, headers);
    if (res.status !== 401) return res;
    const challenge = parseChallenge(res.headers['www-authenticate']);
    res.body.resume();
    const auth = await this.answer(challenge, scope);
    if (auth === undefined) return this.request(pathname, headers);
    this.tokens.set(scope, auth);
    return this.request(pathname, { ...headers, authorization: auth });
  }

  /** Authorization header value for a challenge, or undefined when it cannot be answered. */
  private async answer(challenge: AuthChallenge | undefined, scope: string): Promise<string | undefined> {
    const creds = await findCredentials(this.endpoint.host, this.endpoint.authFile, this.runHelper);
    if (challenge?.scheme === 'basic') {
      return creds === undefined ? undefined : `Basic ${Buffer.from(creds).toString('base64')}`;
    }
    if (challenge?.scheme !== 'bearer' || challenge.params.realm === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(challenge.params.realm);
    } catch {
      throw new TaskError('invalid-input', `registry ${this.endpoint.host} asked for a token from '${challenge.params.realm}', which is not a URL`);
    }
    if (challenge.params.service !== undefined) url.searchParams.set('service', challenge.params.service);
    url.searchParams.set('scope', challenge.params.scope ?? scope);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (creds !== undefined) headers.authorization = `Basic ${Buffer.from(creds).toString('base64')}`;
    const res = await this.send(url, headers);
    const body = await readBody(res.body, 1024 * 1024);
    if (res.status !== 200) {
      throw new TaskError('invalid-input', `token request to ${url.host} for ${this.endpoint.host} failed: HTTP ${res.status}${creds === undefined ? ' (no credentials found)' : ''}`, {
        hint: 'check the credentials in the containers auth file (REGISTRY_AUTH_FILE) or its credential helper',
      });
    }
    let doc: { token?: string; access_token?: string };
    try {
      doc = JSON.parse(body.toString('utf8')) as { token?: string; access_token?: string };
    } catch {
      throw new TaskError('invalid-input', `token request to ${url.host} for ${this.endpoint.host} answered no JSON`);
    }
    const tok = doc.token ?? doc.access_token;
    return tok === undefined ? undefined : `Bearer ${tok}`;
  }

  /** A request to this endpoint, choosing the scheme (probing once for insecure hosts). */
  private async request(pathname: string, headers: Record<string, string>): Promise<HttpResponse> {
    const host = this.apiHost;
    if (!this.endpoint.insecure) return this.send(new URL(`https://${host}${pathname}`), headers);
    if (this.endpoint.plainHttp === true) return this.send(new URL(`http://${host}${pathname}`), headers);
    const running = probing.get(host);
    if (running !== undefined) await running.catch(() => undefined);
    const known = schemeCache.get(host);
    if (known !== undefined) return this.send(new URL(`${known}://${host}${pathname}`), headers);
    const probe = this.probe(host, pathname, headers);
    probing.set(host, probe);
    try {
      return await probe;
    } finally {
      if (probing.get(host) === probe) probing.delete(host);
    }
  }

  /** HTTPS without verification, else plain HTTP: the first request to an insecure host. */
  private async probe(host: string, pathname: string, headers: Record<string, string>): Promise<HttpResponse> {
    try {
      const res = await this.send(new URL(`https://${host}${pathname}`), headers);
      schemeCache.set(host, 'https');
      return res;
    } catch (err) {
      if (UNREACHABLE_CODES.has(errCode(err)) || errCode(err) === 'ABORT_ERR') throw err;
      schemeCache.set(host, 'http');
      return this.send(new URL(`http://${host}${pathname}`), headers);
    }
  }

  /** One GET through the HTTP layer, following up to 5 redirects (credentials dropped on another host). */
  private send(url: URL, headers: Record<string, string>): Promise<HttpResponse> {
    return httpGet(url, {
      headers,
      insecure: this.endpoint.insecure,
      maxRedirects: 5,
      retry: {
        attempts: this.attempts,
        backoffMs: this.backoffMs,
        ...(this.retryAfterCapMs === undefined ? {} : { retryAfterCapMs: this.retryAfterCapMs }),
      },
      ...(this.signal === undefined ? {} : { signal: this.signal }),
      ...(this.timeoutMs === undefined ? {} : { timeoutMs: this.timeoutMs }),
    });
  }
}

/** A TaskError of this client (not a transport failure of the HTTP layer). */
function isOwnError(err: unknown): err is TaskError {
  return err instanceof TaskError && !(err instanceof HttpError);
}
