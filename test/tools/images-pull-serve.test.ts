/**
 * Pull images (v2s2, OCI, OCI index, Docker manifest list) from a real docker-registry on
 * 127.0.0.1 through the blob store, serve the layouts with real nginx from the generated
 * config, and pull every image back with skopeo (by tag and by digest, bytes compared).
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobStore } from '../../buildchain/media/images/blob-store.ts';
import { generateRegistryConfig } from '../../buildchain/tasks/images/nginx-registry-config.ts';
import { pullImage } from '../../buildchain/tasks/images/pull.ts';
import { RegistryClient } from '../../buildchain/tasks/images/registry-client.ts';
import { scanImagesDir } from '../../buildchain/tasks/images/registry-scan.ts';
import type { LoopbackServer } from '../../buildchain/sources/embedded/servers.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { startTestNginx, startTestRegistry, stopAll } from '../helpers/servers.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { BUSYBOX, pushImage, writeOciLayout } from './images-fixtures.ts';

const run = promisify(execFile);
const PREFIX = 'metalk8s-2.4.0-test';

interface Pulled {
  readonly name: string;
  readonly tag: string;
  readonly repository: string;
  readonly digest: string;
  readonly platforms: 'linux/amd64' | 'all';
}

describe.skipIf(missingTools('skopeo', 'nginx', 'docker-registry').length > 0)(
  'images: pull, serve, pull back',
  () => {
    let tmp: TempDir;
    let registry: LoopbackServer;
    let nginx: LoopbackServer;
    let store: BlobStore;
    let images: string;
    const pulled: Pulled[] = [];
    let badBlob = '';
    let badManifest = '';
    /** The registry's stored bytes of a blob (distribution's filesystem driver layout). */
    const stored = (digest: string): string =>
      path.join(
        tmp.path,
        'registry',
        'data',
        'docker',
        'registry',
        'v2',
        'blobs',
        'sha256',
        digest.slice(7, 9),
        digest.slice(7),
        'data',
      );

    beforeAll(async () => {
      tmp = await makeTempDir('mk8s-images-');
      await chmod(tmp.path, 0o755); // nginx workers (nobody) read the layouts
      const layout = path.join(tmp.path, 'oci');
      const busybox = await readFile(BUSYBOX);
      const base = [{ name: 'bin/busybox', data: busybox, mode: 0o755 }];
      await writeOciLayout(layout, [
        { ref: 'tiny-1', layers: [base, [{ name: 'etc/v', data: Buffer.from('1\n') }]] },
        { ref: 'tiny-2', layers: [base, [{ name: 'etc/v', data: Buffer.from('2\n') }]] },
        {
          ref: 'multi',
          layers: [[{ name: 'etc/m', data: Buffer.from('m\n') }]],
          architectures: ['amd64', 'arm64'],
        },
        { ref: 'bad-blob', layers: [[{ name: 'etc/bad', data: Buffer.alloc(2048, 7) }]] },
        { ref: 'bad-manifest', layers: [[{ name: 'etc/bm', data: Buffer.from('bm\n') }]] },
      ]);
      registry = await startTestRegistry({ dir: path.join(tmp.path, 'registry') });
      const push = (ref: string, repo: string, opts: Parameters<typeof pushImage>[3]): string =>
        pushImage(layout, ref, `${registry.address}/${repo}`, opts);
      const add = (
        name: string,
        tag: string,
        repository: string,
        digest: string,
        platforms: Pulled['platforms'],
      ): void => {
        pulled.push({ name, tag, repository, digest, platforms });
      };
      add(
        'tiny',
        '1.0',
        'upstream/tiny',
        push('tiny-1', 'upstream/tiny:1.0', { v2s2: true }),
        'linux/amd64',
      );
      add(
        'tiny',
        '2.0',
        'upstream/tiny',
        push('tiny-2', 'upstream/tiny:2.0', { v2s2: true }),
        'linux/amd64',
      );
      add(
        'tiny-oci',
        '1.0',
        'upstream/tiny-oci',
        push('tiny-1', 'upstream/tiny-oci:1.0', {}),
        'linux/amd64',
      );
      add(
        'multi-oci',
        '1.0',
        'upstream/multi',
        push('multi', 'upstream/multi:oci', { all: true }),
        'all',
      );
      add(
        'multi-docker',
        '1.0',
        'upstream/multi',
        push('multi', 'upstream/multi:docker', { all: true, v2s2: true }),
        'all',
      );
      add(
        'multi-amd64',
        '1.0',
        'upstream/multi',
        push('multi', 'upstream/multi:docker', { all: true, v2s2: true }),
        'linux/amd64',
      );
      badBlob = push('bad-blob', 'upstream/bad:blob', { v2s2: true });
      badManifest = push('bad-manifest', 'upstream/bad:manifest', { v2s2: true });
      images = path.join(tmp.path, 'root', 'images');
      store = new BlobStore(path.join(tmp.path, 'blobs'), 2);
    });

    afterAll(async () => {
      await stopAll();
      await tmp.cleanup();
    });

    it('pulls every image by digest, fetching each blob once, layouts hard-linked', async () => {
      const client = new RegistryClient({
        endpoint: { host: registry.address, pathPrefix: '', insecure: true },
      });
      const results = await Promise.all(
        pulled.map((p) =>
          pullImage({
            client,
            repository: p.repository,
            reference: p.digest,
            platforms: p.platforms,
            store,
            dest: path.join(images, p.name, p.tag),
            what: `${p.name}:${p.tag}`,
          }),
        ),
      );
      expect(results.map((r) => r.digest)).toEqual(pulled.map((p) => p.digest));
      const storeFiles = await readdir(path.join(tmp.path, 'blobs', 'sha256'));
      let unique = 0;
      for (const f of storeFiles)
        unique += (await stat(path.join(tmp.path, 'blobs', 'sha256', f))).size;
      expect(store.stats.bytesFetched).toBe(unique);
      expect(store.stats.blobsFetched).toBe(storeFiles.length);
      // The busybox layer of tiny:1.0 and tiny:2.0 is one inode, shared with the store.
      const m1 = JSON.parse(
        await readFile(path.join(images, 'tiny', '1.0', 'manifest.json'), 'utf8'),
      ) as {
        layers: { digest: string }[];
      };
      const layer = m1.layers[0]?.digest.slice(7) ?? '';
      const a = await stat(path.join(images, 'tiny', '1.0', layer));
      const b = await stat(path.join(images, 'tiny', '2.0', layer));
      expect(a.ino).toBe(b.ino);
      expect(await readFile(path.join(images, 'tiny', '1.0', 'version'), 'utf8')).toBe(
        'Directory Transport Version: 1.1\n',
      );
      // skopeo reads the layouts back.
      await run('skopeo', ['inspect', '--raw', `dir:${path.join(images, 'tiny', '1.0')}`]);
    });

    it('serves the layouts with nginx; skopeo pulls each back by tag and by digest, bytes equal', async () => {
      const scan = await scanImagesDir(images);
      expect(scan.warnings).toEqual([]);
      const conf = generateRegistryConfig({
        repos: scan.repos,
        namePrefix: PREFIX,
        serverRoot: images,
      });
      const inc = path.join(tmp.path, 'registry.inc');
      await writeFile(inc, conf);
      nginx = await startTestNginx({
        dir: path.join(tmp.path, 'nginx'),
        serverBody: `include ${inc};`,
      });
      await mkdir(path.join(tmp.path, 'back'));
      for (const p of pulled) {
        const src = path.join(images, p.name, p.tag);
        const manifest = await readFile(path.join(src, 'manifest.json'));
        const digest = (
          await run('skopeo', ['manifest-digest', path.join(src, 'manifest.json')])
        ).stdout.trim();
        for (const ref of [`:${p.tag}`, `@${digest}`]) {
          const out = path.join(
            tmp.path,
            'back',
            `${p.name}-${p.tag}-${ref.startsWith('@') ? 'digest' : 'tag'}`,
          );
          const all = p.platforms === 'all' ? ['--all'] : [];
          await run('skopeo', [
            'copy',
            '-q',
            ...all,
            '--src-tls-verify=false',
            `docker://${nginx.address}/${PREFIX}/${p.name}${ref}`,
            `dir:${out}`,
          ]);
          expect(await readFile(path.join(out, 'manifest.json'))).toEqual(manifest);
          for (const f of await readdir(out)) {
            if (f === 'version') continue;
            // Buffer.equals: vitest's deep equality is very slow on megabyte buffers.
            const same = (await readFile(path.join(out, f))).equals(
              await readFile(path.join(src, f)),
            );
            expect(same, `${p.name}${ref} ${f}`).toBe(true);
          }
        }
      }
    });

    it('answers HEAD, tags/list, _catalog and registry JSON errors; patterns are anchored', async () => {
      const base = `http://${nginx.address}/v2`;
      const tiny = pulled[0];
      if (tiny === undefined) throw new Error('no fixture');
      const manifest = await readFile(path.join(images, 'tiny', '1.0', 'manifest.json'));
      const head = await fetch(`${base}/${PREFIX}/tiny/manifests/1.0`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-type')).toBe(
        'application/vnd.docker.distribution.manifest.v2+json',
      );
      expect(head.headers.get('docker-content-digest')).toBe(tiny.digest);
      expect(head.headers.get('content-length')).toBe(String(manifest.length));
      const idx = await fetch(`${base}/${PREFIX}/multi-oci/manifests/1.0`, { method: 'HEAD' });
      expect(idx.headers.get('content-type')).toBe('application/vnd.oci.image.index.v1+json');
      const list = await fetch(`${base}/${PREFIX}/multi-docker/manifests/1.0`, { method: 'HEAD' });
      expect(list.headers.get('content-type')).toBe(
        'application/vnd.docker.distribution.manifest.list.v2+json',
      );
      expect(await (await fetch(`${base}/${PREFIX}/tiny/tags/list`)).json()).toEqual({
        name: `${PREFIX}/tiny`,
        tags: ['1.0', '2.0'],
      });
      const catalog = (await (await fetch(`${base}/_catalog`)).json()) as {
        repositories: string[];
      };
      expect(catalog.repositories).toContain(`${PREFIX}/multi-amd64`);
      const ping = await fetch(`${base}/`);
      expect(ping.status).toBe(200);
      expect(ping.headers.get('docker-distribution-api-version')).toBe('registry/2.0');

      const error = async (url: string): Promise<string> => {
        const res = await fetch(url);
        expect(res.status, url).toBe(404);
        expect(res.headers.get('content-type'), url).toBe('application/json');
        return ((await res.json()) as { errors: { code: string }[] }).errors[0]?.code ?? '';
      };
      const m1 = JSON.parse(manifest.toString()) as { layers: { digest: string }[] };
      const tinyLayer = m1.layers[1]?.digest ?? '';
      expect((await fetch(`${base}/${PREFIX}/tiny/blobs/${tinyLayer}`)).status).toBe(200);
      expect(await error(`${base}/${PREFIX}/nope/manifests/1.0`)).toBe('NAME_UNKNOWN');
      expect(await error(`${base}/${PREFIX}/tiny/manifests/9.9`)).toBe('MANIFEST_UNKNOWN');
      expect(await error(`${base}/${PREFIX}/tiny/blobs/sha256:${'0'.repeat(64)}`)).toBe(
        'BLOB_UNKNOWN',
      );
      // Another repository's blob, a digest with trailing junk, a path with junk before /v2/.
      expect((await fetch(`${base}/${PREFIX}/multi-oci/blobs/${tinyLayer}`)).status).toBe(404);
      expect((await fetch(`${base}/${PREFIX}/tiny/blobs/${tinyLayer}0`)).status).toBe(404);
      expect(
        (await fetch(`http://${nginx.address}/x/v2/${PREFIX}/tiny/blobs/${tinyLayer}`)).status,
      ).toBe(404);
      // An escaped '.' in the prefix: 'metalk8s-2x4' must not match 'metalk8s-2.4'.
      const dotted = PREFIX.replace('2.4', '2x4');
      expect((await fetch(`${base}/${dotted}/tiny/blobs/${tinyLayer}`)).status).toBe(404);
    });

    it('nginx -t accepts the constants-only and omit-constants variants together', async () => {
      const scan = await scanImagesDir(images);
      const common = generateRegistryConfig({ repos: [], serverRoot: images, constants: 'only' });
      const one = generateRegistryConfig({
        repos: scan.repos,
        serverRoot: '$images_a',
        namePrefix: 'a-1.0',
        constants: 'omit',
      });
      const two = generateRegistryConfig({
        repos: scan.repos,
        serverRoot: '$images_b',
        namePrefix: 'b-1.0',
        constants: 'omit',
      });
      const dir = path.join(tmp.path, 'nginx-t');
      const files = { common, one, two };
      await mkdir(path.join(dir, 'logs'), { recursive: true });
      for (const [k, v] of Object.entries(files)) await writeFile(path.join(dir, `${k}.inc`), v);
      await writeFile(
        path.join(dir, 'nginx.conf'),
        `pid ${dir}/nginx.pid; error_log ${dir}/logs/error.log; events {} http { server { listen 127.0.0.1:1;
      set $images_a "${images}/"; set $images_b "${images}/";
      include ${dir}/common.inc; include ${dir}/one.inc; include ${dir}/two.inc; } }`,
      );
      await run('nginx', [
        '-t',
        '-q',
        '-p',
        dir,
        '-c',
        path.join(dir, 'nginx.conf'),
        '-e',
        path.join(dir, 'logs', 'error.log'),
      ]);
    });

    it('a registry serving a corrupted blob or manifest fails with digest-mismatch; nothing is left', async () => {
      const client = new RegistryClient({
        endpoint: { host: registry.address, pathPrefix: '', insecure: true },
      });
      const manifest = JSON.parse(await readFile(stored(badBlob), 'utf8')) as {
        layers: { digest: string }[];
      };
      const layer = manifest.layers[0]?.digest ?? '';
      const bytes = await readFile(stored(layer));
      bytes.writeUInt8((bytes.at(-1) ?? 0) ^ 0xff, bytes.length - 1);
      await writeFile(stored(layer), bytes);
      const dest = path.join(images, 'bad', 'blob');
      const what = 'bad:blob';
      const pull = (reference: string, to: string): Promise<unknown> =>
        pullImage({
          client,
          repository: 'upstream/bad',
          reference,
          platforms: 'linux/amd64',
          store,
          dest: to,
          what,
        });
      await expect(pull(badBlob, dest)).rejects.toMatchObject({
        reason: 'digest-mismatch',
        message: expect.stringContaining(layer) as string,
      });
      await expect(stat(dest)).rejects.toThrow();
      expect(store.has(layer)).toBe(false);
      expect(
        (await readdir(path.join(tmp.path, 'blobs', 'sha256'))).filter((f) => f.includes('.tmp-')),
      ).toEqual([]);

      const m = await readFile(stored(badManifest));
      await writeFile(stored(badManifest), Buffer.concat([m.subarray(0, -1), Buffer.from(' }')]));
      const err = (await pull(badManifest, path.join(images, 'bad', 'manifest')).catch(
        (e: unknown) => e,
      )) as Error & { reason?: string };
      expect(err.reason).toBe('digest-mismatch');
      expect(err.message).toContain(`expected ${badManifest}`);
      expect(err.message).toMatch(/served sha256:[a-f0-9]{64}/);
      await expect(stat(path.join(images, 'bad'))).rejects.toThrow();
    });

    it('an unreachable registry fails with a clear unreachable error', async () => {
      const { freePort } = await import('../helpers/servers.ts');
      const port = await freePort();
      const client = new RegistryClient({
        endpoint: { host: `127.0.0.1:${port}`, pathPrefix: '', insecure: true },
      });
      const err = (await pullImage({
        client,
        repository: 'x/y',
        reference: pulled[0]?.digest ?? '',
        platforms: 'linux/amd64',
        store,
        dest: path.join(tmp.path, 'never'),
        what: 'y:1',
      }).catch((e: unknown) => e)) as Error & { reason?: string; hint?: string };
      expect(err.reason).toBe('unreachable');
      expect(err.message).toContain(`cannot reach registry 127.0.0.1:${port}`);
      expect(err.hint).toContain('REGISTRY_MIRRORS');
    });
  },
);
