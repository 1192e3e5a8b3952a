/**
 * A MetalK8s 2.4 node, on loopback: two platform ISOs of different versions (checked by
 * verify, then extracted as the node mounts them) and one Solution, laid out as the node's
 * /srv/scality/<env> (under a temp dir), ONE nginx configured as 2.4's repositories pod
 * (a server with `include conf.d/*.inc`, conf.d files placed as 2.4's states place them, the
 * ISO's templates rendered with python3-jinja2 and 2.4's context), every image copied back with
 * skopeo, one image per archive pulled with containerd's ctr, and the 404s a puller sees. Then
 * the same archives through our Salt stand-in's states (salt-apply.py): one server, every
 * version and the Solution declared under `archives:`.
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyIso } from '../../buildchain/tasks/iso/verify.ts';
import { startTestContainerd, type TestContainerd } from '../helpers/containerd.ts';
import { missingJinja } from '../helpers/jinja.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { freePort, startTestNginx, stopAll } from '../helpers/servers.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import {
  manifestOf,
  writePlatformIso,
  writePodConfD,
  writeSolutionArchive,
  type ArchivesContext,
  type FixtureImage,
} from './node-fixtures.ts';

const SALT_APPLY = path.resolve(import.meta.dirname, '../helpers/salt-apply.py');
const missing = missingTools(
  'nginx',
  'skopeo',
  'containerd',
  'ctr',
  'python3',
  'tar',
  'xorriso',
  'isoinfo',
  'bsdtar',
  'checkisomd5',
  // salt-apply.py reads the pillar with yaml.
  ...missingJinja(['yaml']),
);
const V1 = '2.3.0';
const V2 = '2.4.0-beta1';
const PLATFORM_IMAGES: Record<string, FixtureImage[]> = {
  [V1]: [
    { name: 'pause', tag: '3.1' },
    { name: 'nginx', tag: '1.15.8' },
  ],
  [V2]: [
    { name: 'pause', tag: '3.1' },
    { name: 'coredns', tag: '1.6.2', platforms: ['amd64', 'arm64'] },
    { name: 'etcd', tag: '3.3.15' },
  ],
};
const SOLUTION_IMAGES: FixtureImage[] = [{ name: 'example-app', tag: '1.0.0' }];

function skopeoCopy(from: string, to: string): void {
  execFileSync(
    'skopeo',
    ['copy', '-q', '--all', '--src-tls-verify=false', `docker://${from}`, `dir:${to}`],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
}

describe.skipIf(missing.length > 0)(
  'a MetalK8s 2.4 node serving two versions and a Solution',
  () => {
    let tmp: TempDir;
    let srv: string;
    const platform: Record<string, string> = {};
    let solution: { env: string; archive: string };
    let containerd: TestContainerd | undefined;
    let pod: string;
    /** 2.4's `archives` context: env -> {name, version, path, iso}. */
    let archives: ArchivesContext;

    beforeAll(async () => {
      tmp = await makeTempDir('node-registry-');
      // nginx workers run as nobody: they must traverse the temp dir.
      await chmod(tmp.path, 0o755);
      srv = path.join(tmp.path, 'srv', 'scality');
      archives = {};
      for (const v of [V1, V2]) {
        // Each platform version as an ISO that verify accepts, then as a node mounts it.
        const iso = await writePlatformIso(tmp.path, v, PLATFORM_IMAGES[v] ?? []);
        const report = await verifyIso({ iso, expectName: 'MetalK8s' });
        expect(report.problems, `verify ${iso}`).toEqual([]);
        const mount = path.join(srv, `metalk8s-${v}`);
        await mkdir(mount, { recursive: true });
        execFileSync('bsdtar', ['-xf', iso, '-C', mount]);
        await chmod(mount, 0o755);
        platform[v] = mount;
        archives[`metalk8s-${v}`] = { name: 'MetalK8s', version: v, path: mount, iso };
      }
      solution = await writeSolutionArchive(srv, 'Example', '1.0.0', SOLUTION_IMAGES);
    }, 180_000);

    afterAll(async () => {
      await containerd?.stop();
      await stopAll();
      await tmp.cleanup();
    });

    /** conf.d as 2.4's repo states fill it, the templates rendered with plain Jinja. */
    async function podConfD(dir: string): Promise<void> {
      await writePodConfD(dir, {
        archives,
        newest: `metalk8s-${V2}`,
        solutions: [{ archive: solution.archive, repository: solution.env }],
      });
    }

    it('renders 90-registry-config.inc from 2.4 context: one root variable per archive', async () => {
      const dir = path.join(tmp.path, 'pod-nginx');
      await podConfD(path.join(dir, 'conf.d'));
      const text = await readFile(path.join(dir, 'conf.d', '90-registry-config.inc'), 'utf8');
      expect(text.split('\n').filter((l) => l.startsWith('set '))).toEqual([
        `set $metalk8s_2_3_0_images "${srv}/metalk8s-2.3.0/images/";`,
        `set $metalk8s_2_4_0_beta1_images "${srv}/metalk8s-2.4.0-beta1/images/";`,
      ]);
      const ngx = await startTestNginx({ dir, serverBody: 'include conf.d/*.inc;' });
      pod = ngx.address;
    });

    it('serves every image of both versions and of the Solution (skopeo, bytes compared)', async () => {
      const all: [string, string, FixtureImage][] = [
        ...[V1, V2].flatMap((v) =>
          (PLATFORM_IMAGES[v] ?? []).map((i): [string, string, FixtureImage] => [
            `metalk8s-${v}`,
            platform[v] ?? '',
            i,
          ]),
        ),
        ...SOLUTION_IMAGES.map((i): [string, string, FixtureImage] => [
          solution.env,
          solution.archive,
          i,
        ]),
      ];
      expect(all).toHaveLength(6);
      for (const [env, archive, image] of all) {
        const out = path.join(tmp.path, 'copies', env, image.name);
        await mkdir(path.dirname(out), { recursive: true });
        skopeoCopy(`${pod}/${env}/${image.name}:${image.tag}`, out);
        expect(
          (await readFile(path.join(out, 'manifest.json'))).equals(
            await manifestOf(archive, image),
          ),
        ).toBe(true);
      }
    });

    it('lets containerd pull one image per archive (ctr, plain HTTP)', async () => {
      containerd = await startTestContainerd(path.join(tmp.path, 'containerd'));
      const refs = [
        `metalk8s-${V1}/nginx:1.15.8`,
        `metalk8s-${V2}/coredns:1.6.2`,
        `${solution.env}/example-app:1.0.0`,
      ];
      for (const ref of refs) {
        await containerd.ctr(['images', 'pull', '--plain-http', `${pod}/${ref}`]);
      }
      // As a 2.4 node names them: metalk8s-registry-from-config.invalid/<env>/<name>:<tag>, the
      // host mirrored to the repositories server (containerd then adds ?ns=<host> to each URL).
      const hosts = path.join(
        tmp.path,
        'containerd',
        'hosts',
        'metalk8s-registry-from-config.invalid',
      );
      await mkdir(hosts, { recursive: true });
      await writeFile(
        path.join(hosts, 'hosts.toml'),
        `server = "http://${pod}"\n\n[host."http://${pod}"]\n  capabilities = ["pull", "resolve"]\n`,
      );
      const mirrored = `metalk8s-registry-from-config.invalid/metalk8s-${V2}/etcd:3.3.15`;
      await containerd.ctr(['images', 'pull', '--hosts-dir', path.dirname(hosts), mirrored]);
      const listed = await containerd.ctr(['images', 'ls', '-q']);
      expect(listed.trim().split('\n').sort()).toEqual(
        [...refs.map((r) => `${pod}/${r}`), mirrored].sort(),
      );
    });

    it('answers a missing manifest file with a 404 registry JSON error, not a 500', async () => {
      const cases = [
        [platform[V2] ?? '', `metalk8s-${V2}`, 'pause', '3.1'],
        [solution.archive, solution.env, 'example-app', '1.0.0'],
      ] as const;
      for (const [archive, env, name, tag] of cases) {
        const file = path.join(archive, 'images', name, tag, 'manifest.json');
        await rename(file, `${file}.away`);
        try {
          for (const method of ['GET', 'HEAD']) {
            const res = await fetch(`http://${pod}/v2/${env}/${name}/manifests/${tag}`, { method });
            expect(res.status, `${method} ${env}/${name}:${tag}`).toBe(404);
            expect(res.headers.get('content-type')).toBe('application/json');
            if (method === 'GET') {
              const body = (await res.json()) as { errors: { code: string }[] };
              expect(body.errors[0]?.code).toBe('MANIFEST_UNKNOWN');
            }
          }
        } finally {
          await rename(`${file}.away`, file);
        }
      }
      const unknown = await fetch(`http://${pod}/v2/${solution.env}/nope/manifests/1.0`);
      expect(unknown.status).toBe(404);
      expect(((await unknown.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe(
        'NAME_UNKNOWN',
      );
    });

    it('our Salt stand-in configures one server for every version and the Solution under archives:', async () => {
      const host = path.join(tmp.path, 'host');
      const solutionsYaml = path.join(tmp.path, 'etc', 'solutions.yaml');
      await mkdir(path.dirname(solutionsYaml), { recursive: true });
      await writeFile(
        solutionsYaml,
        `apiVersion: metalk8s.scality.com/v1alpha1\nkind: SolutionsConfiguration\narchives:\n  - ${solution.archive}\n`,
      );
      await mkdir(path.join(platform[V1] ?? '', 'packages/redhat/metalk8s-scality-el7/repodata'), {
        recursive: true,
      });
      await writeFile(
        path.join(platform[V1] ?? '', 'packages/redhat/metalk8s-scality-el7/repodata/repomd.xml'),
        '<repomd/>\n',
      );
      const port = await freePort();
      const pillar = {
        repo: { host: '127.0.0.1', port },
        metalk8s: { archives, solutions: { config: solutionsYaml } },
      };
      const summary = JSON.parse(
        execFileSync(
          'python3',
          [
            SALT_APPLY,
            path.join(platform[V2] ?? '', 'salt'),
            'metalk8s/repo/deployed.sls',
            `metalk8s-${V2}`,
            JSON.stringify(pillar),
            host,
          ],
          { encoding: 'utf8' },
        ),
      ) as { applied: string[] };
      const confDir = '/var/lib/metalk8s/repositories/conf.d';
      expect(summary.applied.sort()).toEqual(
        [
          `${confDir}/repositories.conf`,
          `${confDir}/90-registry-config.inc`,
          `${confDir}/99-metalk8s-${V1}-registry.inc`,
          `${confDir}/99-metalk8s-${V2}-registry.inc`,
          `${confDir}/99-registry-common.inc`,
          `${confDir}/${solution.env}-registry-config.inc`,
          '/etc/kubernetes/manifests/repositories.yaml',
        ].sort(),
      );
      const server = await readFile(path.join(host, confDir, 'repositories.conf'), 'utf8');
      expect(server.match(/^server \{/gm)).toHaveLength(1);
      expect(server).toContain('include conf.d/*.inc;');
      const manifest = await readFile(
        path.join(host, 'etc/kubernetes/manifests/repositories.yaml'),
        'utf8',
      );
      expect(manifest).toMatch(/mountPath: \/etc\/nginx\/conf\.d\n/);
      expect(manifest).toMatch(/mountPath: \/srv\/scality\n/);
      // The pod: nginx's own conf includes conf.d/*.conf (the image's nginx.conf does the same).
      const dir = path.join(tmp.path, 'standin-nginx');
      await mkdir(dir, { recursive: true });
      execFileSync('cp', ['-r', path.join(host, confDir), path.join(dir, 'conf.d')]);
      await startTestNginx({ dir, serverBody: 'return 404;', httpExtra: 'include conf.d/*.conf;' });
      const at = `127.0.0.1:${String(port)}`;
      for (const [env, archive, image] of [
        [`metalk8s-${V1}`, platform[V1] ?? '', PLATFORM_IMAGES[V1]?.[1]],
        [`metalk8s-${V2}`, platform[V2] ?? '', PLATFORM_IMAGES[V2]?.[1]],
        [solution.env, solution.archive, SOLUTION_IMAGES[0]],
      ] as const) {
        if (image === undefined) throw new Error('fixture');
        const out = path.join(tmp.path, 'standin-copies', env);
        await mkdir(path.dirname(out), { recursive: true });
        skopeoCopy(`${at}/${env}/${image.name}:${image.tag}`, out);
        expect(
          (await readFile(path.join(out, 'manifest.json'))).equals(
            await manifestOf(archive, image),
          ),
        ).toBe(true);
      }
      const repomd = await fetch(
        `http://${at}/metalk8s-${V1}/redhat/metalk8s-scality-el7/repodata/repomd.xml`,
      );
      expect(repomd.status).toBe(200);
      expect(await repomd.text()).toBe('<repomd/>\n');
    });
  },
);
