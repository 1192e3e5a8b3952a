/**
 * A Solution's remote images follow the registry rules of the platform's pulls (SOURCES=site):
 * the proxy set in `.env` only (not in the process environment) carries skopeo's requests; a
 * Docker Hub single name (`docker.io/app`) is looked up on the mirror under `library/app` (as
 * containers/image maps it); REGISTRY_AUTH_FILE (relative to the repository) gives skopeo the
 * mirror's credentials, and one that cannot be read fails naming it. Real skopeo against
 * stand-in mirrors on loopback (one reachable only through the stand-in CONNECT proxy: its
 * host name resolves nowhere); settings loaded as the Solution CLI loads them (loadConfig of a
 * root holding `.env.example` and `.env`, the CLI's being the repository).
 */
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { loadConfig } from '../../buildchain/config/load.ts';
import { configureHttp, DEFAULT_HTTP_TIMEOUT_MS } from '../../buildchain/lib/http/get.ts';
import { NO_PROXIES } from '../../buildchain/lib/http/proxy.ts';
import { TaskError } from '../../buildchain/engine/task.ts';
import { createSources, type Sources } from '../../buildchain/sources/sources.ts';
import { buildSolution } from '../../buildchain/tasks/solution/build/build.ts';
import { initSolution } from '../../buildchain/tasks/solution/init/init.ts';
import { inspectSolutionIso } from '../../buildchain/tasks/solution/verify/inspect.ts';
import { missingTools } from '../helpers/require-tool.ts';
import {
  closeAll,
  makeBaseImage,
  makeCertificate,
  registryHandler,
  repoOf,
  serve,
  startProxy,
  type StandInRepo,
} from '../helpers/site-stand-in.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { runSolutionInProcess } from '../helpers/cli-in-process.ts';
import { REPO_ROOT } from '../helpers/workspace.ts';

const missing = missingTools('skopeo', 'xorriso', 'isoinfo', 'openssl', 'tar');
/** A name no resolver knows: only the proxy reaches it. */
const MIRROR = 'mirror.stand-in.test:5443';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe.skipIf(missing.length > 0)('Solution remote images through a site mirror', () => {
  let tmp: TempDir;
  let digest: string;
  let proxied: ReturnType<typeof registryHandler>;
  let local: ReturnType<typeof registryHandler>;
  let localHost: string;
  let proxyUrl: string;
  let proxyLog: { method: string; target: string }[];
  let runs = 0;

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-solution-site-');
    const base = makeBaseImage(path.join(tmp.path, 'base'));
    digest = base.digest;
    const repos = new Map<string, StandInRepo>([
      ['hub/library/app', repoOf(base, '1.0')],
      ['hub/acme/app', repoOf(base, '1.0')],
      ['hub/library/base', repoOf(base, '1.0')],
      ['hub2/library/base', repoOf(base, '1.0')],
    ]);
    proxied = registryHandler({ repos });
    const port = await serve(proxied.handler, makeCertificate(tmp.path));
    const proxy = await startProxy({ [MIRROR]: port });
    proxyUrl = proxy.url;
    proxyLog = proxy.log;
    local = registryHandler({ repos, auth: { kind: 'basic', user: 'dave', password: 's3cret' } });
    localHost = `127.0.0.1:${String(await serve(local.handler))}`;
  });

  afterAll(async () => {
    configureHttp({ timeoutMs: DEFAULT_HTTP_TIMEOUT_MS, proxies: NO_PROXIES });
    await closeAll();
    await tmp.cleanup();
  });

  /** A Solution at `dir` whose one image is `source` (see {@link buildWith}). */
  async function writeSolution(dir: string, source: string): Promise<void> {
    await initSolution(dir, { name: 'Site', version: '1.0.0' });
    const file = path.join(dir, 'solution.yaml');
    const doc = YAML.parse(await readFile(file, 'utf8')) as { images: Record<string, unknown>[] };
    if (source === 'local') {
      doc.images = [{ name: 'site-app', version: '1.0.0', build: { context: 'images/site-app' } }];
      await writeFile(
        path.join(dir, 'images', 'site-app', 'Containerfile'),
        'FROM docker.io/library/base:1.0\nCOPY Containerfile /built-from\n',
      );
    } else {
      doc.images = [{ name: 'site-app', version: '1.0.0', source, digest }];
    }
    await writeFile(file, YAML.stringify(doc));
  }

  /**
   * Builds a Solution whose one image is `source` (pinned; or `local`: built from a
   * Containerfile FROM docker.io/library/base:1.0) with `.env` holding `dotenv`, no proxy in
   * the environment; returns the ISO path (and the result). Each call has its own Solution,
   * work directory and ISO, unless `again` names those of an earlier call to build again.
   */
  async function buildWith(
    source: string,
    dotenv: string[],
    files: Record<string, string> = {},
    again?: string,
  ) {
    const n = again ?? String(++runs);
    const root = path.join(tmp.path, `pkg${n}`);
    await mkdir(root, { recursive: true });
    await copyFile(path.join(REPO_ROOT, '.env.example'), path.join(root, '.env.example'));
    await writeFile(path.join(root, '.env'), [...dotenv, ''].join('\n'));
    for (const [name, text] of Object.entries(files)) await writeFile(path.join(root, name), text);
    const dir = path.join(tmp.path, `sol${n}`);
    if (again === undefined) await writeSolution(dir, source);
    const env = { ...process.env };
    for (const k of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy']) {
      Reflect.deleteProperty(env, k);
    }
    const config = loadConfig(root, env);
    let sources: Sources | undefined;
    const iso = path.join(tmp.path, `out${n}`, 'site.iso');
    try {
      const result = await buildSolution({
        dir,
        output: iso,
        workDir: path.join(tmp.path, `work${n}`),
        sourceDateEpoch: 1700000000,
        sourcesFactory: () => (sources ??= createSources(config)),
        builderConfig: config,
      });
      return { iso, result };
    } finally {
      await sources?.stop();
    }
  }

  async function build(source: string, dotenv: string[], files: Record<string, string> = {}) {
    return (await buildWith(source, dotenv, files)).iso;
  }

  /** `.env` lines: SOURCES=site, docker.io on the local mirror under `prefix`, auth.json. */
  function localMirror(prefix: string): string[] {
    return [
      'SOURCES=site',
      `REGISTRY_MIRRORS=docker.io=${localHost}/${prefix}`,
      `INSECURE_REGISTRIES=${localHost}`,
      'REGISTRY_AUTH_FILE=auth.json',
    ];
  }

  /** An auth.json with the local mirror's credentials. */
  function daveAuth(): string {
    return JSON.stringify({ auths: { [localHost]: { auth: b64('dave:s3cret') } } });
  }

  async function imagesOf(iso: string): Promise<string[]> {
    return (await inspectSolutionIso(iso)).images.map((i) => `${i.name}:${i.tag} ${i.digest}`);
  }

  it(
    'skopeo goes through the HTTPS_PROXY of .env (a mirror only the proxy reaches)',
    { timeout: 120_000 },
    async () => {
      expect(process.env.HTTPS_PROXY ?? process.env.https_proxy).toBeUndefined();
      const before = proxyLog.length;
      const iso = await build('docker.io/acme/app', [
        'SOURCES=site',
        `REGISTRY_MIRRORS=docker.io=${MIRROR}/hub`,
        `INSECURE_REGISTRIES=${MIRROR}`,
        `HTTPS_PROXY=${proxyUrl}`,
      ]);
      expect(await imagesOf(iso)).toEqual([`site-app:1.0.0 ${digest}`]);
      expect(proxied.log.requests.map((q) => q.path)).toContain(
        `/v2/hub/acme/app/manifests/${digest}`,
      );
      // The reachability probe tunnels once; skopeo's connections are the others.
      const tunnels = proxyLog
        .slice(before)
        .filter((e) => e.method === 'CONNECT' && e.target === MIRROR);
      expect(tunnels.length).toBeGreaterThan(1);
    },
  );

  it(
    'a Docker Hub single name is library/<name> on the mirror, with the credentials of a relative REGISTRY_AUTH_FILE',
    { timeout: 120_000 },
    async () => {
      const iso = await build('docker.io/app', localMirror('hub'), { 'auth.json': daveAuth() });
      expect(await imagesOf(iso)).toEqual([`site-app:1.0.0 ${digest}`]);
      const pulls = local.log.requests.filter((q) => q.path.startsWith('/v2/hub/'));
      expect(pulls.map((q) => q.path)).toContain(`/v2/hub/library/app/manifests/${digest}`);
      expect(pulls.filter((q) => q.path.startsWith('/v2/hub/app/'))).toEqual([]);
      expect(pulls.some((q) => q.authorization === `Basic ${b64('dave:s3cret')}`)).toBe(true);
    },
  );

  it.skipIf(missingTools('buildah').length > 0)(
    'a local image is built FROM its base through the mirror, with the credentials of REGISTRY_AUTH_FILE (as the platform builds)',
    { timeout: 180_000 },
    async () => {
      const before = local.log.requests.length;
      const iso = await build('local', localMirror('hub'), { 'auth.json': daveAuth() });
      // docker.io is not reachable here: the base came from the mirror, with the credentials.
      expect((await imagesOf(iso)).map((i) => i.split(' ')[0])).toEqual(['site-app:1.0.0']);
      const pulls = local.log.requests
        .slice(before)
        .filter((q) => q.path.startsWith('/v2/hub/library/base/'));
      expect(pulls.length).toBeGreaterThan(0);
      expect(pulls.some((q) => q.authorization === `Basic ${b64('dave:s3cret')}`)).toBe(true);
    },
  );

  it.skipIf(missingTools('buildah').length > 0)(
    "a local image is built again when the mirror changes (the builder's settings are in its fingerprint), not when nothing did",
    { timeout: 300_000 },
    async () => {
      const basePulls = (prefix: string, from: number): number =>
        local.log.requests
          .slice(from)
          .filter((q) => q.path.startsWith(`/v2/${prefix}/library/base/`)).length;
      const files = { 'auth.json': daveAuth() };
      const first = await buildWith('local', localMirror('hub'), files);
      expect(first.result.upToDate).toBe(false);
      const n = String(runs);
      // The same settings: nothing runs.
      let before = local.log.requests.length;
      const same = await buildWith('local', localMirror('hub'), files, n);
      expect(same.result.upToDate).toBe(true);
      expect(basePulls('hub', before)).toBe(0);
      // Another mirror: the image is built again, its base pulled from that mirror.
      before = local.log.requests.length;
      const moved = await buildWith('local', localMirror('hub2'), files, n);
      expect(moved.result.upToDate).toBe(false);
      expect(basePulls('hub2', before)).toBeGreaterThan(0);
      expect(basePulls('hub', before)).toBe(0);
    },
  );

  it('a REGISTRY_AUTH_FILE that is not JSON fails naming it, and no ISO is left', async () => {
    const err = await build('docker.io/app', localMirror('hub'), {
      'auth.json': '{"auths":',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskError);
    expect(err).toMatchObject({
      reason: 'invalid-input',
      message: expect.stringMatching(/REGISTRY_AUTH_FILE=\/.*\/auth\.json is not JSON/) as string,
      hint: expect.stringContaining('skopeo login --authfile') as string,
    });
    expect(await readdir(path.join(tmp.path, `out${String(runs)}`)).catch(() => [])).toEqual([]);
  });

  it('through the CLI: exit 1, the message and its hint, no stack trace, no ISO', async () => {
    const bad = path.join(tmp.path, 'bad-auth.json');
    await writeFile(bad, '[]');
    const dir = path.join(tmp.path, 'cli-sol');
    await initSolution(dir, { name: 'Site', version: '1.0.0' });
    const file = path.join(dir, 'solution.yaml');
    const doc = YAML.parse(await readFile(file, 'utf8')) as { images: Record<string, unknown>[] };
    doc.images = [{ name: 'site-app', version: '1.0.0', source: 'docker.io/app', digest }];
    await writeFile(file, YAML.stringify(doc));
    const out = path.join(tmp.path, 'cli-out');
    await mkdir(out);
    const r = await runSolutionInProcess(
      ['build', dir, '-o', path.join(out, 's.iso'), '--work-dir', path.join(tmp.path, 'cli-work')],
      {
        SOURCES: 'site',
        REGISTRY_MIRRORS: `docker.io=${localHost}/hub`,
        INSECURE_REGISTRIES: localHost,
        REGISTRY_AUTH_FILE: bad,
        SOURCE_DATE_EPOCH: '1700000000',
      },
    );
    expect(r.code, r.err).toBe(1);
    expect(r.err).toContain(`REGISTRY_AUTH_FILE=${bad} is not a JSON object`);
    expect(r.err).toContain('skopeo login --authfile');
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(await readdir(out)).toEqual([]);
  });
});
