/**
 * A manifest (tag or digest) that a known repository does not have answers 404
 * `MANIFEST_UNKNOWN` (distribution spec), for the platform's registry include and for a
 * Solution's `registry-config.inc.j2` alike; an unknown repository answers `NAME_UNKNOWN`.
 * One real nginx configured as 2.4's repositories pod (conf.d as its states fill it, the
 * templates rendered with python3-jinja2), and the errors real clients report: skopeo says
 * "manifest unknown", containerd's ctr "not found", both exiting non-zero.
 */
import { chmod } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execDirect } from '../../buildchain/engine/exec/run-command.ts';
import type { LoopbackServer } from '../../buildchain/sources/embedded/servers.ts';
import { startTestContainerd, type TestContainerd } from '../helpers/containerd.ts';
import { missingJinja } from '../helpers/jinja.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { startTestNginx, stopAll } from '../helpers/servers.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { writePlatformArchive, writePodConfD, writeSolutionArchive } from '../e2e/node-fixtures.ts';

const missing = [
  ...missingTools('nginx', 'skopeo', 'containerd', 'ctr', 'python3'),
  ...missingJinja(),
];
const VERSION = '2.4.0';
const PLATFORM_ENV = `metalk8s-${VERSION}`;
const NO_DIGEST = `sha256:${'0'.repeat(64)}`;

interface RegistryError {
  readonly status: number;
  readonly contentType: string | null;
  readonly code: string | undefined;
}

describe.skipIf(missing.length > 0)('registry: unknown manifests of known repositories', () => {
  let tmp: TempDir;
  let nginx: LoopbackServer;
  let containerd: TestContainerd | undefined;
  /** [env, an image name of it, one of its tags]: the platform's and the Solution's. */
  const served: [string, string, string][] = [];

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-manifest-unknown-');
    await chmod(tmp.path, 0o755); // nginx workers (nobody) read the layouts
    const srv = path.join(tmp.path, 'srv', 'scality');
    const platform = await writePlatformArchive(srv, VERSION, [{ name: 'pause', tag: '3.1' }]);
    const solution = await writeSolutionArchive(srv, 'Example', '1.0.0', [
      { name: 'example-app', tag: '1.0.0' },
    ]);
    served.push([PLATFORM_ENV, 'pause', '3.1'], [solution.env, 'example-app', '1.0.0']);
    // conf.d as 2.4's repo states fill it (see docs/iso.md and node-registry.test.ts).
    await writePodConfD(path.join(tmp.path, 'pod', 'conf.d'), {
      archives: {
        [PLATFORM_ENV]: { name: 'MetalK8s', version: VERSION, path: platform, iso: null },
      },
      newest: PLATFORM_ENV,
      solutions: [{ archive: solution.archive, repository: solution.env }],
    });
    nginx = await startTestNginx({
      dir: path.join(tmp.path, 'pod'),
      serverBody: 'include conf.d/*.inc;',
    });
  }, 60_000);

  afterAll(async () => {
    await containerd?.stop();
    await stopAll();
    await tmp.cleanup();
  });

  async function answer(url: string, method = 'GET'): Promise<RegistryError> {
    const res = await fetch(url, { method });
    const body =
      method === 'GET' ? ((await res.json()) as { errors?: { code?: string }[] }) : undefined;
    return {
      status: res.status,
      contentType: res.headers.get('content-type'),
      code: body?.errors?.[0]?.code,
    };
  }

  it('answers an unknown tag or digest with 404 MANIFEST_UNKNOWN, an unknown name with NAME_UNKNOWN', async () => {
    expect(served).toHaveLength(2);
    for (const [env, name, tag] of served) {
      const base = `http://${nginx.address}/v2/${env}`;
      const known = await fetch(`${base}/${name}/manifests/${tag}`, { method: 'HEAD' });
      expect(known.status, `${env}/${name}:${tag}`).toBe(200);
      for (const ref of ['9.9.9', NO_DIGEST]) {
        const url = `${base}/${name}/manifests/${ref}`;
        expect(await answer(url), url).toEqual({
          status: 404,
          contentType: 'application/json',
          code: 'MANIFEST_UNKNOWN',
        });
        expect((await answer(url, 'HEAD')).status, `HEAD ${url}`).toBe(404);
      }
      // A name that only starts like a served one is another repository.
      for (const other of [`${name}-x`, `nope/${name}`]) {
        const url = `${base}/${other}/manifests/${tag}`;
        expect((await answer(url)).code, url).toBe('NAME_UNKNOWN');
      }
    }
  });

  it('skopeo: a missing tag fails with "manifest unknown"; the served tag is read', async () => {
    for (const [env, name, tag] of served) {
      const ref = (t: string): string => `docker://${nginx.address}/${env}/${name}:${t}`;
      const skopeo = (t: string) =>
        execDirect(['skopeo', 'inspect', '--raw', '--tls-verify=false', ref(t)], {
          reject: false,
        });
      const ok = await skopeo(tag);
      expect(ok.exitCode, ok.stderr).toBe(0);
      const r = await skopeo('9.9.9');
      expect(r.exitCode, `${env}/${name}:9.9.9`).not.toBe(0);
      expect(r.stderr).toMatch(/manifest unknown/i);
      expect(r.stderr).not.toMatch(/name unknown|not known to registry/i);
    }
  });

  it('ctr: pulling a missing tag fails with "not found"; the served tag is pulled', async () => {
    containerd = await startTestContainerd(path.join(tmp.path, 'containerd'));
    const address = containerd.address;
    for (const [env, name, tag] of served) {
      const ctr = (t: string) =>
        execDirect(
          [
            'ctr',
            '--address',
            address,
            'images',
            'pull',
            '--plain-http',
            `${nginx.address}/${env}/${name}:${t}`,
          ],
          { reject: false },
        );
      const ok = await ctr(tag);
      expect(ok.exitCode, ok.stderr).toBe(0);
      const r = await ctr('9.9.9');
      expect(r.exitCode, `${env}/${name}:9.9.9`).not.toBe(0);
      expect(r.stderr).toMatch(/not found/i);
    }
  });
});
