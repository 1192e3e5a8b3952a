/**
 * Site-mirror tests, local image builds: REGISTRY_MIRRORS, the moved upstream registries and
 * REGISTRY_AUTH_FILE handed to the builder. A real buildah build whose base image
 * (`docker.io/library/base`) comes from an authenticating stand-in mirror only reachable
 * through the registries.conf and the auth file it is given; docker gets DOCKER_CONFIG; an
 * auth file that cannot be read fails naming REGISTRY_AUTH_FILE.
 */
import { lstat, mkdir, readFile, readlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSettings } from '../../buildchain/config/settings.ts';
import { BlobStore } from '../../buildchain/media/images/blob-store.ts';
import { buildLocalImage } from '../../buildchain/tasks/images/build.ts';
import { builderEnv, builderMirrors } from '../../buildchain/tasks/images/builder-env.ts';
import { createImagesTasks } from '../../buildchain/tasks/images/tasks.ts';
import type { Sources } from '../../buildchain/sources/sources.ts';
import { testConfig } from '../helpers/config.ts';
import { runOnEngine } from '../helpers/engine-run.ts';
import { missingTools } from '../helpers/require-tool.ts';
import {
  closeAll,
  makeBaseImage,
  registryHandler,
  repoOf,
  serve,
  type StandInRepo,
} from '../helpers/site-stand-in.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

function config(
  root: string,
  env: Record<string, string>,
): { root: string; settings: ReturnType<typeof parseSettings> } {
  return { root, settings: parseSettings({ SOURCES: 'site', ...env }) };
}

describe('builder environment: mirrors and credentials', () => {
  let tmp: TempDir;

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-site-builder-');
  });
  afterAll(async () => {
    await closeAll();
    await tmp.cleanup();
  });

  it('buildah/podman: registries.conf with REGISTRY_MIRRORS and k8s.gcr.io → registry.k8s.io, REGISTRY_AUTH_FILE resolved', async () => {
    await writeFile(path.join(tmp.path, 'auth.json'), '{"auths":{}}');
    const c = config(tmp.path, {
      REGISTRY_MIRRORS: 'docker.io=harbor.example.com/hub',
      INSECURE_REGISTRIES: 'harbor.example.com',
      REGISTRY_AUTH_FILE: 'auth.json',
      HTTPS_PROXY: 'http://proxy.example.com:3128',
    });
    expect(builderMirrors(c)).toEqual([
      { upstream: 'docker.io', location: 'harbor.example.com/hub', insecure: true },
      { upstream: 'k8s.gcr.io', location: 'registry.k8s.io', insecure: false },
    ]);
    const env = await builderEnv(c, 'podman', path.join(tmp.path, 'containers'));
    expect(env).toEqual({
      HTTPS_PROXY: 'http://proxy.example.com:3128',
      https_proxy: 'http://proxy.example.com:3128',
      NO_PROXY: 'localhost,127.0.0.1,::1',
      no_proxy: 'localhost,127.0.0.1,::1',
      CONTAINERS_REGISTRIES_CONF: path.join(tmp.path, 'containers', 'registries.conf'),
      REGISTRY_AUTH_FILE: path.join(tmp.path, 'auth.json'),
    });
    const conf = await readFile(env?.CONTAINERS_REGISTRIES_CONF ?? '', 'utf8');
    expect(conf).toContain(
      'location = "k8s.gcr.io"\n[[registry.mirror]]\nlocation = "registry.k8s.io"',
    );
    // A site mirror for k8s.gcr.io replaces the moved host.
    expect(
      builderMirrors(config(tmp.path, { REGISTRY_MIRRORS: 'k8s.gcr.io=nexus:8443/k8s' })),
    ).toEqual([{ upstream: 'k8s.gcr.io', location: 'nexus:8443/k8s', insecure: false }]);
  });

  it('docker: DOCKER_CONFIG holds a link to the auth file, and a warning says the daemon keeps its own mirrors', async () => {
    const lines: string[] = [];
    const env = await builderEnv(
      config(tmp.path, {
        REGISTRY_AUTH_FILE: path.join(tmp.path, 'auth.json'),
        REGISTRY_MIRRORS: 'docker.io=h.example.com',
      }),
      'docker',
      path.join(tmp.path, 'containers'),
      (l) => lines.push(l),
    );
    const dir = env?.DOCKER_CONFIG ?? '';
    expect(dir).toBe(path.join(tmp.path, 'containers', 'docker-config'));
    expect((await lstat(path.join(dir, 'config.json'))).isSymbolicLink()).toBe(true);
    expect(await readlink(path.join(dir, 'config.json'))).toBe(path.join(tmp.path, 'auth.json'));
    expect(lines[0]).toMatch(/^warning: IMAGE_BUILDER=docker .* daemon.json/);
  });

  it('an auth file that cannot be read or is not JSON fails naming REGISTRY_AUTH_FILE', async () => {
    const missing = path.join(tmp.path, 'nope.json');
    await expect(
      builderEnv(
        config(tmp.path, { REGISTRY_AUTH_FILE: missing }),
        'buildah',
        path.join(tmp.path, 'c2'),
      ),
    ).rejects.toMatchObject({
      reason: 'invalid-input',
      message: expect.stringContaining(`REGISTRY_AUTH_FILE=${missing} cannot be read`) as string,
      hint: expect.stringContaining('skopeo login --authfile') as string,
    });
    await writeFile(path.join(tmp.path, 'bad.json'), '{"auths":');
    await expect(
      builderEnv(
        config(tmp.path, { REGISTRY_AUTH_FILE: 'bad.json' }),
        'buildah',
        path.join(tmp.path, 'c3'),
      ),
    ).rejects.toMatchObject({ message: expect.stringContaining('bad.json is not JSON') as string });
  });

  describe.skipIf(missingTools('buildah', 'skopeo').length > 0)('with the real buildah', () => {
    it(
      'pulls docker.io/library/base through the mirror with the auth file’s credentials',
      { timeout: 120_000 },
      async () => {
        const base = makeBaseImage(path.join(tmp.path, 'base'));
        const repos = new Map<string, StandInRepo>([['hub/library/base', repoOf(base, '1.0')]]);
        const reg = registryHandler({
          repos,
          auth: { kind: 'basic', user: 'carol', password: 'pa55' },
        });
        const host = `127.0.0.1:${String(await serve(reg.handler))}`;
        const auth = path.join(tmp.path, 'build-auth.json');
        await writeFile(auth, JSON.stringify({ auths: { [host]: { auth: b64('carol:pa55') } } }));
        const context = path.join(tmp.path, 'ctx');
        await mkdir(context, { recursive: true });
        await writeFile(
          path.join(context, 'Containerfile'),
          'FROM docker.io/library/base:1.0\nCOPY extra.txt /extra.txt\n',
        );
        await writeFile(path.join(context, 'extra.txt'), 'extra\n');
        const c = config(tmp.path, {
          REGISTRY_MIRRORS: `docker.io=${host}/hub`,
          INSECURE_REGISTRIES: host,
          REGISTRY_AUTH_FILE: auth,
        });
        const work = path.join(tmp.path, 'work');
        const env = await builderEnv(c, 'buildah', work);
        const dest = path.join(tmp.path, 'out', 'app', '1.0');
        await buildLocalImage({
          name: 'app',
          version: '1.0',
          context,
          file: path.join(context, 'Containerfile'),
          workDir: work,
          store: new BlobStore(path.join(tmp.path, 'blobs')),
          dest,
          ...(env === undefined ? {} : { env }),
        });
        const manifest = JSON.parse(await readFile(path.join(dest, 'manifest.json'), 'utf8')) as {
          layers: unknown[];
        };
        expect(manifest.layers.length).toBe(2);
        const pulls = reg.log.requests.filter((q) => q.path.startsWith('/v2/hub/library/base/'));
        expect(pulls.length).toBeGreaterThan(0);
        expect(pulls.some((q) => q.authorization === `Basic ${b64('carol:pa55')}`)).toBe(true);
      },
    );

    it(
      'images:build on the engine runs again when the mirror changes or credentials are added, not when they change',
      { timeout: 300_000 },
      async () => {
        const base = makeBaseImage(path.join(tmp.path, 'base-engine'));
        const repos = new Map<string, StandInRepo>([
          ['hub/library/base', repoOf(base, '1.0')],
          ['hub2/library/base', repoOf(base, '1.0')],
        ]);
        const reg = registryHandler({ repos });
        const host = `127.0.0.1:${String(await serve(reg.handler))}`;
        const root = path.join(tmp.path, 'engine-repo');
        await mkdir(path.join(root, 'images', 'app'), { recursive: true });
        await writeFile(
          path.join(root, 'images', 'images.yaml'),
          'images:\n  - name: app\n    version: "1.0"\n    build:\n      context: images/app\n',
        );
        await writeFile(
          path.join(root, 'images', 'app', 'Containerfile'),
          'FROM docker.io/library/base:1.0\nCOPY Containerfile /built-from\n',
        );
        await writeFile(path.join(root, 'auth.json'), '{"auths":{}}');
        await writeFile(path.join(root, 'other-auth.json'), '{"auths":{}}');
        const settings = (prefix: string, authFile = 'auth.json'): Record<string, string> => ({
          SOURCES: 'site',
          REGISTRY_MIRRORS: `docker.io=${host}/${prefix}`,
          INSECURE_REGISTRIES: host,
          REGISTRY_AUTH_FILE: authFile,
        });
        const site = { kind: 'site' } as Sources;
        const build = async (env: Record<string, string>): Promise<readonly string[]> => {
          const c = testConfig(root, env, 'site');
          const r = await runOnEngine(c, createImagesTasks(c, site), ['images:build:app']);
          expect(r.exitCode, r.failures.join('\n')).toBe(0);
          return r.ran;
        };
        const pulls = (prefix: string): number =>
          reg.log.requests.filter((q) => q.path.startsWith(`/v2/${prefix}/library/base/`)).length;
        expect(await build(settings('hub'))).toEqual(['images:build:app']);
        expect(pulls('hub')).toBeGreaterThan(0);
        expect(await build(settings('hub'))).toEqual([]);
        // New credentials in the same file: not in the fingerprint (no secret is).
        await writeFile(path.join(root, 'auth.json'), '{"auths":{"x.example":{"auth":"eDp5"}}}');
        expect(await build(settings('hub'))).toEqual([]);
        expect(await build(settings('hub2'))).toEqual(['images:build:app']);
        expect(pulls('hub2')).toBeGreaterThan(0);
        // Another file of credentials: not either (a path in the home directory would make the
        // key unfit for the build cache).
        expect(await build(settings('hub2', 'other-auth.json'))).toEqual([]);
        const anonymous = settings('hub2');
        Reflect.deleteProperty(anonymous, 'REGISTRY_AUTH_FILE');
        expect(await build(anonymous)).toEqual(['images:build:app']);
      },
    );
  });
});
