/**
 * Site-mirror tests, registries: the registry client and the pull against stand-in registries
 * on 127.0.0.1 (test/helpers/site-stand-in.ts): basic and bearer-token auth with credentials
 * from the auth file or its credential helpers, blob GETs answered by a 307 to another port
 * that rejects credentials, manifest lists and OCI indexes pinned by their digest, 429 with
 * Retry-After (seconds and HTTP-date, capped). Each failure with its message.
 */
import { chmod, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobStore } from '../../buildchain/media/images/blob-store.ts';
import type { RegistryEndpoint } from '../../buildchain/sources/sources.ts';
import { pullImage, type PullImageResult } from '../../buildchain/tasks/images/pull.ts';
import {
  RegistryClient,
  type RegistryClientOptions,
} from '../../buildchain/tasks/images/registry-client.ts';
import {
  blobStoreHandler,
  closeAll,
  makeImage,
  makeMultiArch,
  registryHandler,
  repoOf,
  serve,
  type RegistryLog,
  type StandInRepo,
} from '../helpers/site-stand-in.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { taskRejection } from '../helpers/rejection.ts';

const app = makeImage('app', 'amd64', 'docker');
const list = makeMultiArch('multi-list', 'docker');
const index = makeMultiArch('multi-index', 'oci');
const repos = new Map<string, StandInRepo>([
  ['team/app', repoOf(app, '1.0')],
  ['multi/list', list.repo],
  ['multi/index', index.repo],
]);

let tmp: TempDir;
let n = 0;

async function pull(
  endpoint: RegistryEndpoint,
  repository: string,
  reference: string,
  platforms: 'linux/amd64' | 'all' = 'linux/amd64',
  extra: Partial<RegistryClientOptions> = {},
): Promise<{ r: PullImageResult; dest: string }> {
  n++;
  const client = new RegistryClient({ endpoint, backoffMs: 10, ...extra });
  const store = new BlobStore(path.join(tmp.path, `blobs-${String(n)}`), 4);
  const dest = path.join(tmp.path, 'out', String(n));
  const r = await pullImage({
    client,
    repository,
    reference,
    platforms,
    store,
    dest,
    what: `${repository}@${reference}`,
  });
  return { r, dest };
}

async function authFile(name: string, doc: unknown): Promise<string> {
  const file = path.join(tmp.path, name);
  await writeFile(file, JSON.stringify(doc));
  return file;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('site mirror stand-in: registry auth, redirects, lists, rate limits', () => {
  let basicHost = '';
  let bearerHost = '';
  let blobPort = 0;
  let bearerLog: RegistryLog;
  let blobLog: RegistryLog;

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-site-reg-');
    const blobs = blobStoreHandler(repos);
    blobLog = blobs.log;
    blobPort = await serve(blobs.handler);
    const basic = registryHandler({
      repos,
      auth: { kind: 'basic', user: 'alice', password: 's3cret' },
    });
    basicHost = `127.0.0.1:${String(await serve(basic.handler))}`;
    const bearer = registryHandler({
      repos,
      auth: { kind: 'bearer', user: 'bob', password: 'hunter2' },
      blobRedirect: `http://127.0.0.1:${String(blobPort)}`,
    });
    bearerLog = bearer.log;
    bearerHost = `127.0.0.1:${String(await serve(bearer.handler))}`;
  });

  afterAll(async () => {
    await closeAll();
    await tmp.cleanup();
  });

  it('basic auth: the auth file credentials are sent; without them, a 401 names the fix', async () => {
    const file = await authFile('basic.json', {
      auths: { [basicHost]: { auth: b64('alice:s3cret') } },
    });
    const endpoint = { host: basicHost, pathPrefix: '', insecure: true, authFile: file };
    const { r, dest } = await pull(endpoint, 'team/app', app.digest);
    expect(r.digest).toBe(app.digest);
    expect(await readFile(path.join(dest, 'manifest.json'))).toEqual(app.manifest.bytes);

    const none = await authFile('none.json', { auths: {} });
    const err = await taskRejection(pull({ ...endpoint, authFile: none }, 'team/app', app.digest));
    expect(err.reason).toBe('invalid-input');
    expect(err.message).toContain(`registry denied access to ${basicHost}/team/app manifests/`);
    expect(err.hint).toMatch(/REGISTRY_AUTH_FILE/);
  });

  it('bearer auth: a token from the realm; blobs behind a 307 to another port get no credentials', async () => {
    const file = await authFile('bearer.json', {
      auths: { [bearerHost]: { auth: b64('bob:hunter2') } },
    });
    blobLog.requests.length = 0;
    bearerLog.requests.length = 0;
    const { r } = await pull(
      { host: bearerHost, pathPrefix: '', insecure: true, authFile: file },
      'team/app',
      app.digest,
    );
    expect(r.blobBytes).toBeGreaterThan(0);
    // The blob store rejects credentials with 403: the pull succeeded, so none were sent there.
    expect(blobLog.requests.length).toBe(2);
    expect(blobLog.requests.every((q) => q.authorization === undefined)).toBe(true);
    const tokenRequests = bearerLog.requests.filter((q) => q.path === '/token');
    expect(tokenRequests[0]?.authorization).toBe(`Basic ${b64('bob:hunter2')}`);
    const blobGets = bearerLog.requests.filter((q) => q.path.includes('/blobs/'));
    expect(blobGets.length).toBe(2);
    expect(blobGets.every((q) => q.authorization?.startsWith('Bearer tok-') === true)).toBe(true);
  });

  it('bearer auth with wrong credentials: the token request failure names the registry and the auth file', async () => {
    const file = await authFile('wrong.json', {
      auths: { [bearerHost]: { auth: b64('bob:nope') } },
    });
    const err = await taskRejection(
      pull(
        { host: bearerHost, pathPrefix: '', insecure: true, authFile: file },
        'team/app',
        app.digest,
      ),
    );
    expect(err.reason).toBe('invalid-input');
    expect(err.message).toBe(`token request to ${bearerHost} for ${bearerHost} failed: HTTP 401`);
    expect(err.hint).toMatch(/REGISTRY_AUTH_FILE/);
  });

  it('a manifest list pinned by its digest: the amd64 image laid out, or the whole list with platforms: all', async () => {
    const endpoint = {
      host: basicHost,
      pathPrefix: '',
      insecure: true,
      authFile: await authFile('l.json', { auths: { [basicHost]: { auth: b64('alice:s3cret') } } }),
    };
    const one = await pull(endpoint, 'multi/list', list.digest);
    expect(one.r.digest).toBe(list.digest);
    expect(one.r.layoutDigest).toBe(list.children.amd64.digest);
    expect(await readFile(path.join(one.dest, 'manifest.json'))).toEqual(
      list.children.amd64.manifest.bytes,
    );
    const all = await pull(endpoint, 'multi/list', list.digest, 'all');
    expect(all.r.digest).toBe(list.digest);
    const files = await readdir(all.dest);
    expect(files).toContain(`${list.children.arm64.digest.slice(7)}.manifest.json`);
  });

  it('an OCI index pinned by its digest; a registry serving other bytes for the digest is refused', async () => {
    const endpoint = {
      host: basicHost,
      pathPrefix: '',
      insecure: true,
      authFile: await authFile('i.json', { auths: { [basicHost]: { auth: b64('alice:s3cret') } } }),
    };
    const one = await pull(endpoint, 'multi/index', index.digest);
    expect(one.r.digest).toBe(index.digest);
    expect(one.r.layoutDigest).toBe(index.children.amd64.digest);
    expect(one.r.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');

    // The list's bytes served under the index's pinned digest: tampering, refused.
    const tampered = `sha256:${'0'.repeat(64)}`;
    index.repo.manifests.set(tampered, list.repo.manifests.get(list.digest) as never);
    const err = await taskRejection(pull(endpoint, 'multi/index', tampered));
    expect(err.reason).toBe('digest-mismatch');
    expect(err.message).toContain(`expected ${tampered}, registry served ${list.digest}`);
  });

  it('credential helpers: credHelpers, then credsStore, run docker-credential-<x> get; failures are named', async () => {
    const bin = path.join(tmp.path, 'bin');
    await mkdir(bin, { recursive: true });
    const helper = (name: string, body: string): Promise<void> =>
      writeFile(
        path.join(bin, `docker-credential-${name}`),
        `#!/bin/sh\nread server\n${body}\n`,
      ).then(() => chmod(path.join(bin, `docker-credential-${name}`), 0o755));
    await helper(
      'standin',
      `printf '{"ServerURL":"%s","Username":"bob","Secret":"hunter2"}' "$server"`,
    );
    await helper('empty', 'echo "credentials not found in native keychain"; exit 1');
    await helper('broken', 'echo "cannot talk to the keyring" >&2; exit 3');
    await helper('idtoken', `printf '{"Username":"<token>","Secret":"refresh"}'`);
    const savedPath = process.env.PATH;
    process.env.PATH = `${bin}:${savedPath ?? ''}`;
    try {
      const endpoint = (file: string): RegistryEndpoint => ({
        host: bearerHost,
        pathPrefix: '',
        insecure: true,
        authFile: file,
      });
      const viaHelper = await authFile('h.json', {
        credHelpers: { [bearerHost]: 'standin' },
        auths: {},
      });
      expect((await pull(endpoint(viaHelper), 'team/app', app.digest)).r.digest).toBe(app.digest);
      const viaStore = await authFile('s.json', {
        credsStore: 'standin',
        auths: { [bearerHost]: {} },
      });
      expect((await pull(endpoint(viaStore), 'team/app', app.digest)).r.digest).toBe(app.digest);

      // No credentials in the store: anonymous, so the registry's refusal is what the user sees.
      const empty = await authFile('e.json', { credsStore: 'empty' });
      expect(
        (await taskRejection(pull(endpoint(empty), 'team/app', app.digest))).message,
      ).toContain('(no credentials found)');

      const missing = await authFile('m.json', { credHelpers: { [bearerHost]: 'absent' } });
      const notFound = await taskRejection(pull(endpoint(missing), 'team/app', app.digest));
      expect(notFound.reason).toBe('invalid-input');
      expect(notFound.message).toBe(
        `credential helper docker-credential-absent (credHelpers "absent" of ${missing}) is not on PATH`,
      );
      expect(notFound.hint).toContain(`echo ${bearerHost} | docker-credential-absent get`);

      const broken = await authFile('b.json', { credsStore: 'broken' });
      expect((await taskRejection(pull(endpoint(broken), 'team/app', app.digest))).message).toBe(
        `credential helper docker-credential-broken (credsStore "broken" of ${broken}) failed for ${bearerHost} (exit 3): cannot talk to the keyring`,
      );
      const idToken = await authFile('t.json', { credsStore: 'idtoken' });
      expect(
        (await taskRejection(pull(endpoint(idToken), 'team/app', app.digest))).message,
      ).toContain('holds an identity token');
      const bad = await authFile('x.json', { credsStore: '../evil' });
      expect((await taskRejection(pull(endpoint(bad), 'team/app', app.digest))).message).toContain(
        "'../evil' is not a credential helper name",
      );

      // The same missing helper in a default file (~/.docker/config.json): anonymous access.
      const home = path.join(tmp.path, 'home');
      await mkdir(path.join(home, '.docker'), { recursive: true });
      await writeFile(path.join(home, '.docker', 'config.json'), '{"credsStore":"absent"}');
      const saved = { HOME: process.env.HOME, XDG: process.env.XDG_RUNTIME_DIR };
      process.env.HOME = home;
      delete process.env.XDG_RUNTIME_DIR;
      try {
        const anonymous = await taskRejection(
          pull({ host: bearerHost, pathPrefix: '', insecure: true }, 'team/app', app.digest),
        );
        expect(anonymous.message).toContain('(no credentials found)');
      } finally {
        process.env.HOME = saved.HOME;
        if (saved.XDG !== undefined) process.env.XDG_RUNTIME_DIR = saved.XDG;
      }
    } finally {
      process.env.PATH = savedPath;
    }
  });

  it('429 with Retry-After in seconds, then as an HTTP-date: retried after the asked delay', async () => {
    const seconds = registryHandler({ repos, tooMany: { count: 1, retryAfter: '1' } });
    const host1 = `127.0.0.1:${String(await serve(seconds.handler))}`;
    let started = Date.now();
    expect(
      (await pull({ host: host1, pathPrefix: '', insecure: true }, 'team/app', app.digest)).r
        .digest,
    ).toBe(app.digest);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(seconds.log.requests.filter((q) => q.path.includes('/manifests/')).length).toBe(2);

    const date = registryHandler({
      repos,
      tooMany: { count: 1, retryAfter: new Date(Date.now() + 2000).toUTCString() },
    });
    const host2 = `127.0.0.1:${String(await serve(date.handler))}`;
    started = Date.now();
    expect(
      (await pull({ host: host2, pathPrefix: '', insecure: true }, 'team/app', app.digest)).r
        .digest,
    ).toBe(app.digest);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('429 on every attempt: the wait is capped, then the failure names the status, attempts and asked delay', async () => {
    const always = registryHandler({ repos, tooMany: { count: 1000, retryAfter: '3600' } });
    const host = `127.0.0.1:${String(await serve(always.handler))}`;
    const started = Date.now();
    const err = await taskRejection(
      pull({ host, pathPrefix: '', insecure: true }, 'team/app', app.digest, 'linux/amd64', {
        attempts: 3,
        retryAfterCapMs: 300,
      }),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(err.reason).toBe('unreachable');
    expect(err.message).toContain(
      `registry error for ${host}/team/app manifests/${app.digest}: HTTP 429 after 3 attempts (asked to retry after 3600 s)`,
    );
    expect(err.hint).toMatch(/limits requests/);
  });
});
