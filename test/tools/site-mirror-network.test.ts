/**
 * Site-mirror tests, the network path: proxies from the environment (a CONNECT / forward proxy
 * on loopback routing public names to stand-in servers; HTTPS_PROXY for registries, HTTP_PROXY
 * for RPM fetches, NO_PROXY bypassing it), Docker Hub reached as registry-1.docker.io with
 * `library/`, SOURCES=upstream's hosts (registry.k8s.io, vault.centos.org, removed repos), and a
 * registry that accepts TCP and never answers (fails in < 30 s naming the host and
 * HTTP_TIMEOUT). Bad HTTP settings: exit 2 naming the key.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../buildchain/config/load.ts';
import {
  configureHttp,
  DEFAULT_HTTP_TIMEOUT_MS,
  httpDefaults,
} from '../../buildchain/lib/http/get.ts';
import { NO_PROXIES } from '../../buildchain/lib/http/proxy.ts';
import { BlobStore } from '../../buildchain/media/images/blob-store.ts';
import { createSources } from '../../buildchain/sources/sources.ts';
import { pullImage } from '../../buildchain/tasks/images/pull.ts';
import { RegistryClient } from '../../buildchain/tasks/images/registry-client.ts';
import { readUrl } from '../../buildchain/tasks/packages/fetch.ts';
import { testConfig } from '../helpers/config.ts';
import { missingTools } from '../helpers/require-tool.ts';
import {
  blobStoreHandler,
  closeAll,
  makeCertificate,
  makeImage,
  registryHandler,
  repoOf,
  serve,
  serveMute,
  startProxy,
  type RegistryLog,
  type StandInProxy,
  type StandInRepo,
} from '../helpers/site-stand-in.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { REPO_ROOT } from '../helpers/workspace.ts';
import { taskRejection } from '../helpers/rejection.ts';

const nginx = makeImage('nginx', 'amd64', 'docker');
const repos = new Map<string, StandInRepo>([
  ['library/nginx', repoOf(nginx, '1.15.8')],
  ['pause', repoOf(makeImage('pause', 'amd64', 'docker'), '3.1')],
]);

describe.skipIf(missingTools('openssl').length > 0)(
  'site mirror stand-in: proxies and upstream hosts',
  () => {
    let tmp: TempDir;
    let proxy: StandInProxy;
    let hubLog: RegistryLog;
    let yumPort = 0;
    const yumSeen: string[] = [];

    beforeAll(async () => {
      tmp = await makeTempDir('mk8s-site-net-');
      const tls = makeCertificate(tmp.path);
      const blobs = blobStoreHandler(repos);
      const blobPort = await serve(blobs.handler);
      // Docker Hub: bearer auth, blobs redirected to a loopback blob store (reached directly).
      const hub = registryHandler({
        repos,
        auth: { kind: 'bearer', user: 'bob', password: 'hunter2' },
        blobRedirect: `http://127.0.0.1:${String(blobPort)}`,
      });
      hubLog = hub.log;
      const hubPort = await serve(hub.handler, tls);
      const k8sPort = await serve(registryHandler({ repos }).handler, tls);
      const vaultPort = await serve((_req, res) => res.end('vault'), tls);
      yumPort = await serve((req, res) => {
        yumSeen.push(req.url ?? '');
        res.end('<repomd/>');
      });
      proxy = await startProxy({
        'registry-1.docker.io:443': hubPort,
        'registry.k8s.io:443': k8sPort,
        'vault.centos.org:443': vaultPort,
        'mirror.stand-in.test:80': yumPort,
      });
    });

    afterEach(() => {
      configureHttp({ proxies: NO_PROXIES, timeoutMs: DEFAULT_HTTP_TIMEOUT_MS });
    });

    afterAll(async () => {
      await closeAll();
      await tmp.cleanup();
    });

    it('HTTPS_PROXY: a docker.io pull goes through the proxy (CONNECT registry-1.docker.io:443) as library/nginx', async () => {
      configureHttp({ proxies: { httpsProxy: proxy.url, httpProxy: '', noProxy: '' } });
      proxy.log.length = 0;
      const { writeFile } = await import('node:fs/promises');
      const authFile = path.join(tmp.path, 'hub.json');
      await writeFile(
        authFile,
        JSON.stringify({
          auths: {
            'https://index.docker.io/v1/': { auth: Buffer.from('bob:hunter2').toString('base64') },
          },
        }),
      );
      const client = new RegistryClient({
        endpoint: {
          host: 'docker.io',
          upstream: 'docker.io',
          pathPrefix: '',
          insecure: true,
          authFile,
        },
        backoffMs: 10,
      });
      const r = await pullImage({
        client,
        repository: 'nginx',
        reference: nginx.digest,
        platforms: 'linux/amd64',
        store: new BlobStore(path.join(tmp.path, 'blobs'), 4),
        dest: path.join(tmp.path, 'out', 'nginx'),
        what: 'nginx:1.15.8',
      });
      expect(r.digest).toBe(nginx.digest);
      expect(proxy.log.map((e) => `${e.method} ${e.target}`)).toContain(
        'CONNECT registry-1.docker.io:443',
      );
      expect(proxy.log.every((e) => e.method === 'CONNECT')).toBe(true);
      expect(hubLog.requests.map((q) => q.path)).toContain(
        `/v2/library/nginx/manifests/${nginx.digest}`,
      );
      // NO_PROXY names the host: reached directly, where the name does not resolve.
      configureHttp({ proxies: { httpsProxy: proxy.url, httpProxy: '', noProxy: 'docker.io' } });
      proxy.log.length = 0;
      const direct = await taskRejection(client.getManifest('nginx', nginx.digest));
      expect(direct.message).toMatch(
        /^cannot reach registry docker\.io \(registry-1\.docker\.io\): (ENOTFOUND|EAI_AGAIN)/,
      );
      expect(proxy.log).toEqual([]);
    });

    it('HTTP_PROXY: RPM fetches use the absolute-URI form; NO_PROXY hosts are reached directly', async () => {
      configureHttp({ proxies: { httpsProxy: '', httpProxy: proxy.url, noProxy: 'localhost' } });
      proxy.log.length = 0;
      const url = 'http://mirror.stand-in.test/centos/7/os/x86_64/repodata/repomd.xml';
      expect((await readUrl(url, "repo 'base'")).toString()).toBe('<repomd/>');
      expect(proxy.log).toEqual([{ method: 'GET', target: url, proxyAuthorization: undefined }]);
      expect(yumSeen).toContain('/centos/7/os/x86_64/repodata/repomd.xml');

      // Credentials in the proxy URL become Proxy-Authorization.
      configureHttp({
        proxies: {
          httpsProxy: '',
          httpProxy: `http://me:pw@127.0.0.1:${String(proxy.port)}`,
          noProxy: '',
        },
      });
      proxy.log.length = 0;
      await readUrl(url, "repo 'base'");
      expect(proxy.log[0]?.proxyAuthorization).toBe(
        `Basic ${Buffer.from('me:pw').toString('base64')}`,
      );

      // Bypassed: the name is then looked up directly, and does not resolve here.
      configureHttp({
        proxies: { httpsProxy: '', httpProxy: proxy.url, noProxy: '.stand-in.test' },
      });
      proxy.log.length = 0;
      const err = await taskRejection(readUrl(url, "repo 'base'"));
      expect(err.reason).toBe('unreachable');
      expect(err.message).toMatch(
        /repo 'base': cannot reach http:\/\/mirror\.stand-in\.test\/.*: (ENOTFOUND|EAI_AGAIN)/,
      );
      expect(proxy.log).toEqual([]);
      // Loopback is never proxied.
      configureHttp({ proxies: { httpsProxy: proxy.url, httpProxy: proxy.url, noProxy: '' } });
      await readUrl(`http://127.0.0.1:${String(yumPort)}/x`, 'loopback');
      expect(proxy.log).toEqual([]);
    });

    it('SOURCES=upstream: k8s.gcr.io is reached as registry.k8s.io, CentOS at vault.centos.org; removed repos say so', async () => {
      configureHttp({ proxies: { httpsProxy: proxy.url, httpProxy: '', noProxy: '' } });
      proxy.log.length = 0;
      const sources = createSources(
        testConfig(tmp.path, { INSECURE_REGISTRIES: 'registry.k8s.io' }, 'upstream'),
      );
      const endpoint = await sources.registry('k8s.gcr.io');
      expect(endpoint).toMatchObject({
        host: 'registry.k8s.io',
        upstream: 'k8s.gcr.io',
        insecure: true,
      });
      expect(proxy.log.map((e) => e.target)).toContain('registry.k8s.io:443');
      const client = new RegistryClient({ endpoint });
      expect((await client.getManifest('pause', '3.1')).contentType).toContain('manifest.v2+json');

      // The stand-in's certificate is self-signed: the probe fails on it, which shows where it went.
      const centos = await taskRejection(
        sources.repoUrl('http://mirror.centos.org/centos/7/os/x86_64/'),
      );
      expect(centos.message).toContain(
        'package repository vault.centos.org (https://vault.centos.org/7.9.2009/os/x86_64/, archive of http://mirror.centos.org/centos/7/os/x86_64/)',
      );
      expect(centos.message).toContain('through proxy 127.0.0.1');
      expect(centos.hint).toContain('NODE_EXTRA_CA_CERTS');
      expect(proxy.log.map((e) => e.target)).toContain('vault.centos.org:443');

      const k8s = await taskRejection(
        sources.repoUrl('https://packages.cloud.google.com/yum/repos/kubernetes-el7-x86_64'),
      );
      expect(k8s.reason).toBe('unreachable');
      expect(k8s.message).toContain(
        'no public host serves https://packages.cloud.google.com/yum/repos/kubernetes-el7-x86_64 any more: the legacy Kubernetes package repositories were removed on 2024-03-04',
      );
      expect(k8s.hint).toContain(
        'PACKAGE_MIRRORS=https://packages.cloud.google.com/yum/repos/kubernetes-el7-x86_64=',
      );
      const salt = await taskRejection(
        sources.repoUrl('https://repo.saltstack.com/yum/redhat/7/x86_64/archive/2018.3.4'),
      );
      expect(salt.message).toContain('shut down in November 2024');

      // A site mirror for the removed repo is used; other URLs fall back to the archived hosts.
      const site = createSources(
        testConfig(
          tmp.path,
          {
            PACKAGE_MIRRORS: `https://packages.cloud.google.com/yum=http://127.0.0.1:${String(yumPort)}/k8s`,
          },
          'site',
        ),
      );
      expect(
        await site.repoUrl('https://packages.cloud.google.com/yum/repos/kubernetes-el7-x86_64'),
      ).toBe(`http://127.0.0.1:${String(yumPort)}/k8s/repos/kubernetes-el7-x86_64`);
      const siteSalt = await taskRejection(
        site.repoUrl('https://repo.saltstack.com/yum/redhat/7/x86_64/archive/2018.3.4'),
      );
      expect(siteSalt.hint).toContain('Add a PACKAGE_MIRRORS pair');
    });
  },
);

describe('a registry that accepts TCP and never answers', () => {
  let tmp: TempDir;
  let mute = 0;

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-site-mute-');
    mute = await serveMute();
  });

  afterAll(async () => {
    await closeAll();
    await tmp.cleanup();
  });

  it(
    'fails in < 30 s by default, naming the host and HTTP_TIMEOUT; the next image of that host at once',
    { timeout: 45_000 },
    async () => {
      const host = `127.0.0.1:${String(mute)}`;
      const sources = createSources(
        testConfig(
          tmp.path,
          {
            REGISTRY_MIRRORS: `quay.io=${host}/quay`,
            INSECURE_REGISTRIES: host,
          },
          'site',
        ),
      );
      let started = Date.now();
      const err = await taskRejection(sources.registry('quay.io'));
      const took = Date.now() - started;
      expect(took).toBeLessThan(30_000);
      expect(took).toBeGreaterThanOrEqual(DEFAULT_HTTP_TIMEOUT_MS - 500);
      expect(err.reason).toBe('unreachable');
      expect(err.message).toContain(`cannot reach registry ${host} (mirror of quay.io): ETIMEDOUT`);
      expect(err.message).toContain('within 20 s (HTTP_TIMEOUT)');
      expect(err.hint).toMatch(/REGISTRY_MIRRORS/);
      started = Date.now();
      expect((await taskRejection(sources.registry('quay.io'))).message).toBe(err.message);
      expect(Date.now() - started).toBeLessThan(100);
    },
  );

  it('HTTP_TIMEOUT sets the wait; the registry client itself does not retry a timeout', async () => {
    const host = `127.0.0.1:${String(mute)}`;
    const sources = createSources(
      testConfig(
        tmp.path,
        {
          REGISTRY_MIRRORS: `quay.io=${host}`,
          INSECURE_REGISTRIES: host,
          HTTP_TIMEOUT: '1',
        },
        'site',
      ),
    );
    let started = Date.now();
    expect((await taskRejection(sources.registry('quay.io'))).message).toContain(
      'within 1 s (HTTP_TIMEOUT)',
    );
    expect(Date.now() - started).toBeLessThan(3000);

    const client = new RegistryClient({
      endpoint: { host, pathPrefix: '', insecure: false },
      timeoutMs: 800,
    });
    started = Date.now();
    const err = await taskRejection(client.getManifest('x/y', 'latest'));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(err.message).toBe(
      `cannot reach registry ${host}: ETIMEDOUT no connection within 800 ms (HTTP_TIMEOUT)`,
    );
    expect(err.hint).toContain('raise HTTP_TIMEOUT');
  });
});

describe('a package repository that accepts TCP and never answers', () => {
  afterAll(async () => {
    configureHttp({ timeoutMs: DEFAULT_HTTP_TIMEOUT_MS });
    await closeAll();
  });

  it('an RPM fetch fails within HTTP_TIMEOUT, once, naming the URL and the setting', async () => {
    const mute = await serveMute();
    configureHttp({ timeoutMs: 700 });
    const url = `http://127.0.0.1:${String(mute)}/base/repodata/repomd.xml`;
    const started = Date.now();
    const err = await taskRejection(readUrl(url, "repo 'base'"));
    expect(Date.now() - started).toBeLessThan(2000);
    expect(err.message).toBe(
      `repo 'base': cannot reach ${url}: ETIMEDOUT no answer within 700 ms (HTTP_TIMEOUT)`,
    );
    expect(err.hint).toContain('raise HTTP_TIMEOUT');
    expect(err.hint).toContain('PACKAGE_MIRRORS');
  });
});

describe('bad HTTP settings', () => {
  it('HTTP_TIMEOUT and the proxies are checked at load: invalid-env naming the key', () => {
    const load = (env: Record<string, string>): unknown => {
      try {
        loadConfig(REPO_ROOT, env);
      } catch (err) {
        return err;
      }
      return undefined;
    };
    for (const bad of ['abc', '0', '-1', '3601', '1.5']) {
      expect(load({ HTTP_TIMEOUT: bad })).toMatchObject({
        reason: 'invalid-env',
        message: `HTTP_TIMEOUT=${bad} is not a whole number of seconds from 1 to 3600`,
      });
    }
    expect(load({ HTTPS_PROXY: 'socks5://proxy:1080' })).toMatchObject({
      reason: 'invalid-env',
      message:
        "HTTPS_PROXY: 'socks5://proxy:1080': only http:// proxies are supported (https is tunnelled through them with CONNECT)",
    });
    expect(load({ http_proxy: 'http://' })).toMatchObject({
      message: expect.stringContaining('http_proxy:') as string,
    });
    const before = httpDefaults();
    try {
      loadConfig(REPO_ROOT, {
        HTTP_TIMEOUT: '7',
        https_proxy: 'proxy.example.com:3128',
        NO_PROXY: '.corp',
      });
      expect(httpDefaults()).toEqual({
        timeoutMs: 7000,
        proxies: { httpsProxy: 'proxy.example.com:3128', httpProxy: '', noProxy: '.corp' },
      });
    } finally {
      configureHttp(before);
    }
  });

  it('the CLI exits 2 with the message and no stack trace', () => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(REPO_ROOT, 'buildchain/cli/bin.ts'), 'list'],
      {
        cwd: REPO_ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          HTTPS_PROXY: 'ftp://proxy',
        },
        encoding: 'utf8',
      },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("HTTPS_PROXY: 'ftp://proxy': only http:// proxies are supported");
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
