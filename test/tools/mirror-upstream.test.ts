import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkReachable } from '../../buildchain/sources/reachable.ts';
import { createSources } from '../../buildchain/sources/sources.ts';
import { testConfig } from '../helpers/config.ts';
import { freePort, startTestNginx, stopAll } from '../helpers/servers.ts';
import { taskRejection } from '../helpers/rejection.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

// No network here except 127.0.0.1: upstream hosts do not resolve, and a closed loopback port
// stands for a site mirror that is down. Each test runs under vitest's timeout, which bounds
// "fast"; the assertions are on the error, not on time.

describe('upstream and site sources when the host does not answer', () => {
  let tmp: TempDir;

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-mirror-up-');
  });

  afterAll(async () => {
    await tmp.cleanup();
  });

  it(
    'upstream registry: unreachable naming the registry and the settings to change',
    { timeout: 20_000 },
    async () => {
      const sources = createSources(
        testConfig(tmp.path, { REGISTRY_MIRRORS: '', PACKAGE_MIRRORS: '' }, 'upstream'),
      );
      expect(sources.describe()).toBe('upstream');
      const err = await taskRejection(sources.registry('quay.invalid'));
      expect(err.reason).toBe('unreachable');
      expect(err.message).toContain('registry quay.invalid');
      expect(err.hint).toMatch(/SOURCES=embedded/);
      expect(err.hint).toMatch(/REGISTRY_MIRRORS/);
    },
  );

  it(
    'upstream repository: unreachable naming the repo and PACKAGE_MIRRORS',
    { timeout: 20_000 },
    async () => {
      const sources = createSources(testConfig(tmp.path, {}, 'upstream'));
      const err = await taskRejection(
        sources.repoUrl('http://mirror.centos.invalid/centos/7/os/x86_64/'),
      );
      expect(err.reason).toBe('unreachable');
      expect(err.message).toContain('mirror.centos.invalid');
      expect(err.hint).toMatch(/PACKAGE_MIRRORS/);
    },
  );

  it(
    'site mirror down: unreachable naming the mirror and REGISTRY_MIRRORS',
    { timeout: 20_000 },
    async () => {
      const port = await freePort();
      const sources = createSources(
        testConfig(
          tmp.path,
          {
            REGISTRY_MIRRORS: `quay.io=127.0.0.1:${port}/quay`,
            INSECURE_REGISTRIES: `127.0.0.1:${port}`,
          },
          'site',
        ),
      );
      expect(sources.describe()).toBe(`site (127.0.0.1:${port})`);
      const err = await taskRejection(sources.registry('quay.io'));
      expect(err.reason).toBe('unreachable');
      expect(err.message).toContain(`127.0.0.1:${port}`);
      expect(err.message).toContain('mirror of quay.io');
      expect(err.hint).toMatch(/REGISTRY_MIRRORS/);
    },
  );

  it('site: a malformed setting is an invalid-input error naming the key', () => {
    expect(() => createSources(testConfig(tmp.path, { PACKAGE_MIRRORS: 'nope' }, 'site'))).toThrow(
      /PACKAGE_MIRRORS/,
    );
  });

  it('upstream keeps pinned digests and the repository lock dir', async () => {
    const sources = createSources(testConfig(tmp.path, {}, 'upstream'));
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(
      await sources.imageDigest({
        name: 'x',
        version: '1',
        ship: 'dir',
        platforms: 'linux/amd64',
        digest,
      }),
    ).toBe(digest);
    expect(sources.lockDir).toBe(`${tmp.path}/packages-specs/locks`);
    expect(await sources.expectedSha256?.('https://x/y', 'ff')).toBe('ff');
  });
});

describe.skipIf(missingTools('nginx').length > 0)('site mirror that answers', () => {
  afterAll(stopAll);

  it('maps registries and package URLs to the mirror and checks it once', async () => {
    const tmp = await makeTempDir('mk8s-mirror-site-');
    try {
      const ngx = await startTestNginx({
        dir: tmp.path,
        serverBody: "location / { return 200 'ok'; }",
      });
      const sources = createSources(
        testConfig(
          tmp.path,
          {
            REGISTRY_MIRRORS: `docker.io=${ngx.address}/dockerhub`,
            INSECURE_REGISTRIES: ngx.address,
            REGISTRY_AUTH_FILE: '/etc/auth.json',
            PACKAGE_MIRRORS: `http://mirror.centos.org/centos=http://${ngx.address}/centos`,
          },
          'site',
        ),
      );
      expect(await sources.registry('docker.io')).toEqual({
        host: ngx.address,
        upstream: 'docker.io',
        pathPrefix: 'dockerhub',
        insecure: true,
        authFile: '/etc/auth.json',
      });
      expect(await sources.repoUrl('http://mirror.centos.org/centos/7/os/x86_64/')).toBe(
        `http://${ngx.address}/centos/7/os/x86_64/`,
      );
      expect((await checkReachable(`http://${ngx.address}/`)).ok).toBe(true);
    } finally {
      await stopAll();
      await tmp.cleanup();
    }
  });
});
