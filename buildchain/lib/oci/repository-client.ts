/**
 * A read-write client for one repository of an OCI distribution registry (distribution,
 * Harbor, ghcr, ...): blobs (HEAD, GET, monolithic upload, cross-repository mount), manifests
 * (GET, PUT, DELETE), tags. Basic and Bearer auth from `user:password` credentials; HTTPS
 * with certificate checks unless the host is insecure (then HTTPS without checks, else plain
 * HTTP, as containers tools do). All HTTP goes through lib/http. Failures are TaskErrors
 * (`unreachable` for transport errors and 5xx, `invalid-input` for a refusal) naming the
 * registry and what was asked.
 */
import type { Readable } from 'node:stream';
import { TaskError } from '../errors.ts';
import { readBody } from '../http/body.ts';
import { HttpError, httpRequest, type HttpResponse } from '../http/get.ts';
import { parseChallenge, type AuthChallenge } from './auth-challenge.ts';
import { MAX_MANIFEST_BYTES } from './manifest.ts';

/** Options of {@link OciRepositoryClient}. */
export interface OciRepositoryOptions {
  /** `host[:port]`. */
  readonly host: string;
  /** Repository path, e.g. `ci/metalk8s-cache`. */
  readonly repository: string;
  /** Plain HTTP (or HTTPS without certificate checks) allowed. */
  readonly insecure?: boolean;
  /** `user:password`, or a function finding them (called once, on the first challenge). */
  readonly credentials?: string | (() => Promise<string | undefined>);
  readonly signal?: AbortSignal;
  /** Idle timeout of each request in ms (default: the HTTP layer's). */
  readonly idleTimeoutMs?: number;
  /** Connect timeout of each request in ms (default: the HTTP layer's). */
  readonly connectTimeoutMs?: number;
}

/** A manifest as served. */
export interface FetchedManifest {
  readonly bytes: Buffer;
  readonly mediaType: string;
  /** `Docker-Content-Digest`, when the registry sent it. */
  readonly digest: string | undefined;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH']);

/** One repository of one registry; keeps its auth header and scheme between calls. */
export class OciRepositoryClient {
  readonly host: string;
  readonly repository: string;
  private readonly o: OciRepositoryOptions;
  private auth: string | undefined;
  private scheme: 'https' | 'http' | undefined;
  private creds: Promise<string | undefined> | undefined;
  /**
   * The first request, while it runs: it finds the scheme (an insecure host) and answers the
   * auth challenge. Requests made meanwhile wait for it, then go out knowing both, instead of
   * each probing HTTPS and meeting the challenge on its own (a build starts a dozen at once).
   */
  private opening: Promise<unknown> | undefined;
  private opened = false;

  constructor(opts: OciRepositoryOptions) {
    this.o = opts;
    this.host = opts.host;
    this.repository = opts.repository;
    this.scheme = opts.insecure === true ? undefined : 'https';
  }

  /** `host/repository`, for messages. */
  get name(): string {
    return `${this.host}/${this.repository}`;
  }

  /** True when the registry holds the blob. */
  async hasBlob(digest: string): Promise<boolean> {
    const res = await this.call('HEAD', `blobs/${digest}`, { what: `blob ${digest}` });
    res.body.resume();
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw this.statusError(res.status, `blob ${digest}`, '');
  }

  /** The blob's bytes as a stream (the caller checks the digest), or undefined when absent. */
  async getBlob(digest: string): Promise<Readable | undefined> {
    const res = await this.call('GET', `blobs/${digest}`, { what: `blob ${digest}`, follow: true });
    if (res.status === 404) {
      res.body.resume();
      return undefined;
    }
    if (res.status !== 200) throw await this.failed(res, `blob ${digest}`);
    return res.body;
  }

  /**
   * Uploads a blob unless the registry has it: first a cross-repository mount from
   * `mountFrom` (a repository of the same registry) when given, else a monolithic upload of
   * `open()`'s bytes. Resolves with how it got there.
   */
  async putBlob(
    digest: string,
    size: number,
    open: () => Readable | Buffer,
    mountFrom?: string,
  ): Promise<'present' | 'mounted' | 'uploaded'> {
    if (await this.hasBlob(digest)) return 'present';
    const query =
      mountFrom === undefined
        ? ''
        : `?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(mountFrom)}`;
    const start = await this.call('POST', `blobs/uploads/${query}`, {
      what: `upload of blob ${digest}`,
      headers: { 'content-length': '0' },
    });
    start.body.resume();
    if (start.status === 201) return 'mounted';
    if (start.status !== 202) throw this.statusError(start.status, `upload of blob ${digest}`, '');
    const location = start.headers.location;
    if (location === undefined)
      throw this.statusError(start.status, `upload of blob ${digest} (no Location)`, '');
    const url = new URL(location, this.baseUrl());
    url.searchParams.set('digest', digest);
    const body = open();
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'content-length': String(size),
    };
    if (this.auth !== undefined) headers.authorization = this.auth;
    const res = await this.send('PUT', url, headers, Buffer.isBuffer(body) ? body : () => body);
    if (res.status !== 201) throw await this.failed(res, `upload of blob ${digest}`);
    res.body.resume();
    return 'uploaded';
  }

  /** The manifest of `reference` (tag or digest), or undefined when absent. */
  async getManifest(reference: string, accept: string): Promise<FetchedManifest | undefined> {
    const res = await this.call('GET', `manifests/${reference}`, {
      what: `manifest ${reference}`,
      headers: { accept },
    });
    if (res.status === 404) {
      res.body.resume();
      return undefined;
    }
    if (res.status !== 200) throw await this.failed(res, `manifest ${reference}`);
    const bytes = await readBody(res.body, MAX_MANIFEST_BYTES);
    const digest = res.headers['docker-content-digest'];
    return {
      bytes,
      mediaType: (res.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '',
      digest: typeof digest === 'string' ? digest : undefined,
    };
  }

  /** True when a manifest exists for `reference` (HEAD). */
  async hasManifest(reference: string, accept: string): Promise<boolean> {
    const res = await this.call('HEAD', `manifests/${reference}`, {
      what: `manifest ${reference}`,
      headers: { accept },
    });
    res.body.resume();
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw this.statusError(res.status, `manifest ${reference}`, '');
  }

  /** PUTs a manifest under `reference` (a tag). */
  async putManifest(reference: string, bytes: Buffer, mediaType: string): Promise<void> {
    const res = await this.call('PUT', `manifests/${reference}`, {
      what: `manifest ${reference}`,
      headers: { 'content-type': mediaType, 'content-length': String(bytes.length) },
      body: bytes,
    });
    if (res.status !== 201 && res.status !== 200)
      throw await this.failed(res, `manifest ${reference}`);
    res.body.resume();
  }

  /** Deletes the manifest `digest` (and so every tag pointing at it). */
  async deleteManifest(digest: string): Promise<void> {
    const res = await this.call('DELETE', `manifests/${digest}`, { what: `manifest ${digest}` });
    if (res.status !== 202 && res.status !== 200 && res.status !== 404)
      throw await this.failed(res, `deletion of manifest ${digest}`);
    res.body.resume();
  }

  /** Deletes a blob from the repository (registries may refuse: an error then). */
  async deleteBlob(digest: string): Promise<void> {
    const res = await this.call('DELETE', `blobs/${digest}`, {
      what: `deletion of blob ${digest}`,
    });
    if (res.status !== 202 && res.status !== 200 && res.status !== 404)
      throw await this.failed(res, `deletion of blob ${digest}`);
    res.body.resume();
  }

  /** Every tag of the repository (an absent repository has none), following pagination. */
  async listTags(): Promise<string[]> {
    const tags: string[] = [];
    let suffix = 'tags/list?n=1000';
    for (let page = 0; page < 10_000; page++) {
      const res = await this.call('GET', suffix, { what: 'tags list' });
      if (res.status === 404) {
        res.body.resume();
        return tags;
      }
      if (res.status !== 200) throw await this.failed(res, 'tags list');
      const doc = JSON.parse((await readBody(res.body)).toString('utf8')) as {
        tags?: string[] | null;
      };
      tags.push(...(doc.tags ?? []));
      const link = /<([^>]+)>\s*;\s*rel="?next"?/.exec(String(res.headers.link ?? ''));
      if (link?.[1] === undefined) return tags;
      const next = new URL(link[1], this.baseUrl());
      const prefix = `/v2/${this.repository}/`;
      if (!next.pathname.startsWith(prefix)) return tags;
      suffix = next.pathname.slice(prefix.length) + next.search;
    }
    return tags;
  }

  private baseUrl(): string {
    return `${this.scheme ?? 'https'}://${this.host}`;
  }

  /** `/v2/<repository>/<suffix>` with auth: on 401 answers the challenge once, then retries. */
  private async call(
    method: string,
    suffix: string,
    o: { what: string; headers?: Record<string, string>; body?: Buffer; follow?: boolean },
  ): Promise<HttpResponse> {
    if (this.opened) return this.callOnce(method, suffix, o);
    if (this.opening !== undefined) {
      // Its outcome is its caller's: this request goes out on its own either way.
      await this.opening.catch(() => undefined);
      return this.callOnce(method, suffix, o);
    }
    const first = this.callOnce(method, suffix, o);
    this.opening = first;
    try {
      return await first;
    } finally {
      this.opened = true;
      this.opening = undefined;
    }
  }

  private async callOnce(
    method: string,
    suffix: string,
    o: { what: string; headers?: Record<string, string>; body?: Buffer; follow?: boolean },
  ): Promise<HttpResponse> {
    const pathname = `/v2/${this.repository}/${suffix}`;
    const headers = { ...o.headers };
    let res = await this.request(method, pathname, headers, o.body, o.follow);
    if (res.status !== 401) return res;
    const challenge = parseChallenge(res.headers['www-authenticate']);
    res.body.resume();
    this.auth = await this.answer(challenge);
    if (this.auth === undefined)
      throw this.statusError(401, o.what, 'no credentials for this registry');
    res = await this.request(method, pathname, headers, o.body, o.follow);
    if (res.status === 401) {
      res.body.resume();
      throw this.statusError(401, o.what, 'the credentials were refused');
    }
    return res;
  }

  private credentials(): Promise<string | undefined> {
    const c = this.o.credentials;
    this.creds ??= typeof c === 'function' ? c() : Promise.resolve(c);
    return this.creds;
  }

  /** Authorization header value answering a challenge (Basic, or a Bearer token). */
  private async answer(challenge: AuthChallenge | undefined): Promise<string | undefined> {
    const creds = await this.credentials();
    const basic =
      creds === undefined ? undefined : `Basic ${Buffer.from(creds).toString('base64')}`;
    if (challenge?.scheme === 'basic') return basic;
    if (challenge?.scheme !== 'bearer' || challenge.params.realm === undefined) return undefined;
    const url = new URL(challenge.params.realm);
    if (challenge.params.service !== undefined)
      url.searchParams.set('service', challenge.params.service);
    url.searchParams.set('scope', `repository:${this.repository}:pull,push,delete`);
    const res = await this.send('GET', url, {
      accept: 'application/json',
      ...(basic === undefined ? {} : { authorization: basic }),
    });
    const body = await readBody(res.body, 1024 * 1024);
    if (res.status !== 200) throw this.statusError(res.status, `token from ${url.host}`, '');
    const doc = JSON.parse(body.toString('utf8')) as { token?: string; access_token?: string };
    const token = doc.token ?? doc.access_token;
    return token === undefined ? undefined : `Bearer ${token}`;
  }

  /** One request to this registry, choosing the scheme (probed once for an insecure host). */
  private async request(
    method: string,
    pathname: string,
    headers: Record<string, string>,
    body?: Buffer,
    follow?: boolean,
  ): Promise<HttpResponse> {
    const h = this.auth === undefined ? headers : { ...headers, authorization: this.auth };
    if (this.scheme !== undefined)
      return this.send(
        method,
        new URL(`${this.scheme}://${this.host}${pathname}`),
        h,
        body,
        follow,
      );
    if ((method === 'GET' || method === 'HEAD') && body === undefined)
      return this.probeBoth(method, pathname, h, follow);
    try {
      const res = await this.send(
        method,
        new URL(`https://${this.host}${pathname}`),
        h,
        body,
        follow,
      );
      this.scheme = 'https';
      return res;
    } catch (err) {
      if (err instanceof HttpError && (UNREACHABLE.has(err.code) || err.code === 'ABORT_ERR'))
        throw this.wrap(err);
      this.scheme = 'http';
      return this.send(method, new URL(`http://${this.host}${pathname}`), h, body, follow);
    }
  }

  /**
   * The first read of an insecure host: HTTPS without checks preferred, plain HTTP otherwise
   * (as containers tools do), both asked at once (a read has no side effect): the answer over
   * HTTP does not wait for the HTTPS attempt to fail first. The unused answer is discarded.
   */
  private async probeBoth(
    method: string,
    pathname: string,
    headers: Record<string, string>,
    follow?: boolean,
  ): Promise<HttpResponse> {
    const attempt = (scheme: 'https' | 'http') =>
      this.send(
        method,
        new URL(`${scheme}://${this.host}${pathname}`),
        headers,
        undefined,
        follow,
      ).then(
        (res) => ({ res }),
        (err: unknown) => ({ err }),
      );
    const plain = attempt('http');
    const tls = await attempt('https');
    if ('res' in tls) {
      this.scheme = 'https';
      void plain.then((p) => {
        if ('res' in p) p.res.body.destroy();
      });
      return tls.res;
    }
    const p = await plain;
    if ('err' in p) throw p.err;
    this.scheme = 'http';
    return p.res;
  }

  private async send(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body?: Buffer | (() => Readable),
    follow?: boolean,
  ): Promise<HttpResponse> {
    try {
      return await httpRequest(method, url, {
        headers,
        ...(body === undefined ? {} : { body }),
        ...(this.o.signal === undefined ? {} : { signal: this.o.signal }),
        ...(this.o.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: this.o.idleTimeoutMs }),
        ...(this.o.connectTimeoutMs === undefined
          ? {}
          : { connectTimeoutMs: this.o.connectTimeoutMs }),
        insecure: this.o.insecure === true,
      }).then((res) => this.redirect(res, headers, follow === true));
    } catch (err) {
      throw this.wrap(err);
    }
  }

  /** Follows a GET redirect (blob storage elsewhere), without credentials on another host. */
  private async redirect(
    res: HttpResponse,
    headers: Record<string, string>,
    follow: boolean,
  ): Promise<HttpResponse> {
    const location = res.headers.location;
    if (!follow || res.status < 300 || res.status >= 400 || location === undefined) return res;
    res.body.resume();
    const next = new URL(location, res.url);
    const h =
      next.host === res.url.host
        ? headers
        : Object.fromEntries(Object.entries(headers).filter(([k]) => k !== 'authorization'));
    return httpRequest('GET', next, { headers: h, insecure: this.o.insecure === true });
  }

  private wrap(err: unknown): TaskError {
    if (err instanceof TaskError && !(err instanceof HttpError)) return err;
    if (err instanceof HttpError && err.reason === 'aborted') return err;
    const detail = err instanceof HttpError ? `${err.code} ${err.detail}`.trim() : String(err);
    // A TLS handshake answered in plain HTTP: the usual cause is a registry without TLS.
    const tls =
      this.o.insecure !== true && /EPROTO|SSL|wrong version number|ECONNRESET/i.test(detail)
        ? ' (a registry without TLS must be listed in INSECURE_REGISTRIES)'
        : '';
    return new TaskError('unreachable', `cannot reach the registry ${this.host}: ${detail}${tls}`, {
      hint: 'check the network and the registry address',
    });
  }

  private async failed(res: HttpResponse, what: string): Promise<TaskError> {
    const text = (await readBody(res.body, 64 * 1024).catch(() => Buffer.alloc(0)))
      .toString('utf8')
      .slice(0, 300);
    return this.statusError(res.status, what, text);
  }

  private statusError(status: number, what: string, detail: string): TaskError {
    const where = `${this.name}: ${what}: HTTP ${status}${detail === '' ? '' : `: ${detail.trim()}`}`;
    if (status === 401 || status === 403)
      return new TaskError('invalid-input', `registry refused access to ${where}`, {
        hint: 'log in with `skopeo login` (or set REGISTRY_AUTH_FILE) with push and pull rights on the repository',
      });
    if (status >= 500 || status === 429)
      return new TaskError('unreachable', `registry error for ${where}`, {
        hint: 'retry later',
      });
    return new TaskError('invalid-input', `registry refused ${where}`, {
      hint: 'check the registry address and repository name',
    });
  }
}
