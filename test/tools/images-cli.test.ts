/**
 * The `images` task group through the real CLI (`--tasks-module`) in a temp workspace:
 * SOURCES=site with a registry mirror on 127.0.0.1, a pinned pull, an archive, a local
 * buildah build; up to date on the second run; a version bump leaves no old version behind;
 * a digest mismatch and an unreachable mirror fail with clear messages and leave nothing.
 */
import { copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoopbackServer } from '../../buildchain/sources/embedded/servers.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { freePort, startTestRegistry, stopAll } from '../helpers/servers.ts';
import { runCliHere, shellEnv } from '../helpers/run-cli.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { pushImage, writeOciLayout } from './images-fixtures.ts';

const REPO = path.resolve(import.meta.dirname, '../..');

interface Event {
  readonly event: string;
  readonly task?: string;
  readonly reason?: string;
  readonly message?: string;
  readonly done?: number;
  readonly total?: number;
}

describe.skipIf(missingTools('skopeo', 'buildah', 'docker-registry').length > 0)(
  'images tasks through the CLI',
  () => {
    let tmp: TempDir;
    let ws: string;
    let registry: LoopbackServer;
    const digests: Record<string, string> = {};

    async function build(
      env: Record<string, string> = {},
      task = 'images',
    ): Promise<{ code: number; events: Event[] }> {
      // The build CLI's main, in this process (tasks.ts never changes: the module cache is safe).
      const r = await runCliHere(ws, ['--tasks-module', 'tasks.ts', '-n', '2', task], {
        env: shellEnv(env),
      });
      return { code: r.code ?? -1, events: r.events };
    }

    async function writeList(
      tinyVersion: string,
      tinyDigest: string | undefined,
      pauseVersion = '3.1',
    ): Promise<void> {
      await writeFile(
        path.join(ws, 'images', 'images.yaml'),
        `images:
  - name: tiny
    version: "${tinyVersion}"
    source: { registry: quay.io, repository: test/tiny }
${tinyDigest === undefined ? '' : `    digest: ${tinyDigest}\n`}  - name: pause
    version: "${pauseVersion}"
    source: { registry: quay.io, repository: test/tiny }
    digest: ${digests['1.0'] ?? ''}
    ship: archive
    archivePath: salt/files/pause-${pauseVersion}.tar
  - name: hello
    version: "1.0"
    build: { context: images/hello, args: { GREETING: hi } }
`,
      );
    }

    beforeAll(async () => {
      tmp = await makeTempDir('mk8s-images-cli-');
      ws = path.join(tmp.path, 'ws');
      await mkdir(path.join(ws, 'images', 'hello'), { recursive: true });
      await copyFile(path.join(REPO, '.env.example'), path.join(ws, '.env.example'));
      await writeFile(
        path.join(ws, 'VERSION'),
        'VERSION_MAJOR=2\nVERSION_MINOR=4\nVERSION_PATCH=0\nVERSION_SUFFIX=-test\n',
      );
      await writeFile(
        path.join(ws, 'images', 'hello', 'Containerfile'),
        'FROM scratch\nARG GREETING\nCOPY hello.txt /hello.txt\n',
      );
      await writeFile(path.join(ws, 'images', 'hello', 'hello.txt'), 'hello\n');
      await writeFile(
        path.join(ws, 'tasks.ts'),
        `import { createImagesTasks } from ${JSON.stringify(path.join(REPO, 'buildchain/tasks/images/tasks.ts'))};\n` +
          'export function createTasks(config, sources) { return createImagesTasks(config, sources); }\n',
      );
      const layout = path.join(tmp.path, 'oci');
      await writeOciLayout(layout, [
        {
          ref: 'v1',
          layers: [
            [{ name: 'base', data: Buffer.alloc(4096, 1) }],
            [{ name: 'v', data: Buffer.from('1') }],
          ],
        },
        {
          ref: 'v2',
          layers: [
            [{ name: 'base', data: Buffer.alloc(4096, 1) }],
            [{ name: 'v', data: Buffer.from('2') }],
          ],
        },
      ]);
      registry = await startTestRegistry({ dir: path.join(tmp.path, 'registry') });
      digests['1.0'] = pushImage(layout, 'v1', `${registry.address}/quay/test/tiny:1.0`, {
        v2s2: true,
      });
      digests['2.0'] = pushImage(layout, 'v2', `${registry.address}/quay/test/tiny:2.0`, {
        v2s2: true,
      });
      await writeFile(
        path.join(ws, '.env'),
        `SOURCES=site\nREGISTRY_MIRRORS=quay.io=${registry.address}/quay\nINSECURE_REGISTRIES=${registry.address}\n`,
      );
      await writeList('1.0', digests['1.0'] ?? '');
    });

    afterAll(async () => {
      await stopAll();
      await tmp.cleanup();
    });

    it('pulls, archives, builds, and writes the registry includes; then is up to date', async () => {
      const first = await build();
      expect(first.events.filter((e) => e.event === 'fail')).toEqual([]);
      expect(first.code).toBe(0);
      // The live view shows per-task progress: each pull reports its blobs.
      const progress = first.events.filter(
        (e) => e.event === 'progress' && e.task === 'images:pull:tiny',
      );
      expect(progress.length).toBeGreaterThan(0);
      expect(progress.at(-1)).toMatchObject({ done: progress.at(-1)?.total });
      const root = path.join(ws, '_build', 'root');
      const tiny = path.join(root, 'images', 'tiny', '1.0');
      expect((await readdir(tiny)).sort()).toContain('manifest.json');
      expect((await stat(path.join(root, 'salt', 'files', 'pause-3.1.tar'))).size).toBeGreaterThan(
        0,
      );
      expect(await readdir(path.join(root, 'images', 'hello', '1.0'))).toContain('manifest.json');
      const inc = await readFile(
        path.join(root, 'salt', 'metalk8s', 'repo', 'files', 'metalk8s-registry.inc'),
        'utf8',
      );
      expect(inc).toContain('/v2/metalk8s-2.4.0-test/tiny/manifests/1.0');
      expect(inc).toContain('$metalk8s_2_4_0_test_images');
      const second = await build();
      expect(second.code).toBe(0);
      expect(second.events.filter((e) => e.event === 'start')).toEqual([]);
    });

    it('after a version bump the old version is gone from the tree and the registry config', async () => {
      await writeList('2.0', digests['2.0'] ?? '', '3.2');
      const r = await build();
      expect(r.code).toBe(0);
      const images = path.join(ws, '_build', 'root', 'images');
      expect(await readdir(path.join(images, 'tiny'))).toEqual(['2.0']);
      const inc = await readFile(
        path.join(
          ws,
          '_build',
          'root',
          'salt',
          'metalk8s',
          'repo',
          'files',
          'metalk8s-registry.inc',
        ),
        'utf8',
      );
      expect(inc).toContain('/tiny/manifests/2.0');
      expect(inc).not.toContain('/tiny/manifests/1.0');
      expect(await readdir(path.join(ws, '_build', 'root', 'salt', 'files'))).toEqual([
        'pause-3.2.tar',
      ]);
    });

    it('a digest the registry does not serve fails naming the image; nothing is left in the tree', async () => {
      await writeList('3.0', `sha256:${'a'.repeat(64)}`);
      const r = await build();
      expect(r.code).toBe(1);
      const fail = r.events.find((e) => e.event === 'fail' && e.task === 'images:pull:tiny');
      expect(fail?.message).toContain('test/tiny');
      expect(await readdir(path.join(ws, '_build', 'root', 'images', 'tiny'))).not.toContain('3.0');
    });

    it('an unreachable mirror fails fast naming the host and REGISTRY_MIRRORS', async () => {
      const port = await freePort();
      await writeList('2.0', digests['2.0'] ?? '');
      const r = await build({
        REGISTRY_MIRRORS: `quay.io=127.0.0.1:${port}/quay`,
        INSECURE_REGISTRIES: `127.0.0.1:${port}`,
        ALLOW_UNPINNED_IMAGES: 'false',
      });
      expect(r.code).toBe(1);
      const fail = r.events.find((e) => e.event === 'fail');
      expect(fail?.reason).toBe('unreachable');
      expect(JSON.stringify(fail)).toContain(`127.0.0.1:${port}`);
      expect(JSON.stringify(fail)).toContain('REGISTRY_MIRRORS');
    });

    it('an unpinned image fails unless allowed; images:lock records its digest', async () => {
      await writeList('2.0', undefined);
      const refused = await build();
      expect(refused.code).toBe(1);
      expect(refused.events.find((e) => e.event === 'fail')?.message).toContain(
        'image tiny:2.0 (quay.io/test/tiny) has no pinned digest',
      );
      const locked = await build({}, 'images:lock');
      expect(locked.code).toBe(0);
      expect(await readFile(path.join(ws, 'images', 'images.yaml'), 'utf8')).toContain(
        `digest: ${digests['2.0'] ?? '?'}`,
      );
      expect((await build()).code).toBe(0);
    });

    it('a tag that moved under ALLOW_UNPINNED_IMAGES, pulled again, rewrites the served digest', async () => {
      const layout = path.join(tmp.path, 'oci');
      const include = path.join(ws, '_build/root/salt/metalk8s/repo/files/metalk8s-registry.inc');
      const allow = { ALLOW_UNPINNED_IMAGES: 'true' };
      digests['4.0a'] = pushImage(layout, 'v1', `${registry.address}/quay/test/tiny:4.0`, {
        v2s2: true,
      });
      await writeList('4.0', undefined);
      expect((await build(allow)).code).toBe(0);
      expect(await readFile(include, 'utf8')).toContain(digests['4.0a']);
      // The tag moves upstream; the layout is deleted, so the pull (same entry, same
      // fingerprint) fetches the new manifest.
      digests['4.0b'] = pushImage(layout, 'v2', `${registry.address}/quay/test/tiny:4.0`, {
        v2s2: true,
      });
      expect(digests['4.0b']).not.toBe(digests['4.0a']);
      await rm(path.join(ws, '_build/root/images/tiny/4.0'), { recursive: true });
      const r = await build(allow);
      expect(r.code).toBe(0);
      expect(r.events.filter((e) => e.event === 'start').map((e) => e.task)).toEqual(
        expect.arrayContaining(['images:pull:tiny', 'images:registry-config']),
      );
      const inc = await readFile(include, 'utf8');
      expect(inc).toContain(digests['4.0b']);
      expect(inc).not.toContain(digests['4.0a']);
    });
  },
);
