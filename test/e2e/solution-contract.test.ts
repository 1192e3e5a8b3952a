/**
 * The 2.4 import contract, end to end: the example Solution and a copy whose display name has
 * spaces are built, then read the way MetalK8s 2.4's Solution states read them:
 * - `product.txt` through `isoinfo -x /PRODUCT.TXT;1`, NAME and VERSION by `^KEY=(.+)$`, the
 *   env name `name | replace(' ', '-') | lower ~ '-' ~ version`, the archive at
 *   `/srv/scality/<env>` (extracted with bsdtar: no loop mounts here);
 * - `product.txt` and `images/` must exist; `registry-config.inc.j2` is rendered with Jinja2
 *   (`repository=<env>`, `registry_root=/srv/scality/<env>/images`) into conf.d beside the
 *   platform's common include, all served by ONE nginx;
 * - the CRDs applied are `operator/deploy/crds/*_crd.yaml`, then the operator's four files and
 *   `ui/deployment.yaml` + `ui/service.yaml`, rendered with Jinja2;
 * - every image the manifests reference is pulled through that nginx with skopeo and with
 *   containerd's `ctr`, and is the image the archive holds.
 */
import { createHash } from 'node:crypto';
import { chmod, cp, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { buildSolution } from '../../buildchain/tasks/solution/build/build.ts';
import { generateRegistryConfig } from '../../buildchain/tasks/images/nginx-registry-config.ts';
import { discoverImageRefs } from '../../buildchain/tasks/solution/lint/image-refs.ts';
import { verifySolutionIso } from '../../buildchain/tasks/solution/verify/verify.ts';
import { writeSolutionIso } from '../../buildchain/tasks/solution/build/write-solution-iso.ts';
import { startTestContainerd, type TestContainerd } from '../helpers/containerd.ts';
import { missingJinja, renderJinjaFile } from '../helpers/jinja.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { startTestNginx, stopAll } from '../helpers/servers.ts';
import { renderArchiveRegistryConfig } from '../helpers/solution-archive.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const EXAMPLE = path.join(ROOT, 'examples', 'solution-example');
const EPOCH = 1700000000;

const missing = [
  ...missingTools(
    'buildah',
    'skopeo',
    'xorriso',
    'isoinfo',
    'bsdtar',
    'nginx',
    'busybox',
    'containerd',
    'ctr',
  ),
  ...missingJinja(),
];

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** What 2.4's `archive_info_from_iso` returns: NAME and VERSION lines of /PRODUCT.TXT;1. */
async function archiveInfoFromIso(
  iso: string,
): Promise<{ name: string; version: string; text: string }> {
  const text = (await execa('isoinfo', ['-x', '/PRODUCT.TXT;1', '-i', iso])).stdout;
  return {
    name: /^NAME=(.+)$/m.exec(text)?.[1] ?? '',
    version: /^VERSION=(.+)$/m.exec(text)?.[1] ?? '',
    text,
  };
}

/** 2.4's machine name: `name | replace(' ', '-') | lower ~ '-' ~ version`. */
function machineName(info: { name: string; version: string }): string {
  return `${info.name.replaceAll(' ', '-').toLowerCase()}-${info.version}`;
}

interface Imported {
  readonly iso: string;
  readonly env: string;
  /** `/srv/scality/<env>` of this test. */
  readonly mount: string;
}

describe.skipIf(missing.length > 0)('Solutions as MetalK8s 2.4 imports them', () => {
  let tmp: TempDir;
  let srv: string;
  let confd: string;
  const archives: Imported[] = [];
  let containerd: TestContainerd | undefined;
  let registry = '';

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-sol-contract-');
    // nginx workers run as nobody: they must traverse the temp dir.
    await chmod(tmp.path, 0o755);
    srv = path.join(tmp.path, 'srv', 'scality');
    confd = path.join(tmp.path, 'conf.d');
    await mkdir(srv, { recursive: true });
    await mkdir(confd);
    const spaced = path.join(tmp.path, 'spaced');
    await cp(EXAMPLE, spaced, {
      recursive: true,
      filter: (src) => path.basename(src) !== '_build',
    });
    const yamlFile = path.join(spaced, 'solution.yaml');
    const text = await readFile(yamlFile, 'utf8');
    expect(text).toContain('\nname: Example\n');
    await writeFile(yamlFile, text.replace('\nname: Example\n', '\nname: Example Solution\n'));
    for (const [dir, work] of [
      [EXAMPLE, 'work-example'],
      [spaced, 'work-spaced'],
    ] as const) {
      const built = await buildSolution({
        dir,
        workDir: path.join(tmp.path, work),
        sourceDateEpoch: EPOCH,
        allowHostFiles: true,
      });
      archives.push({ iso: built.iso, env: '', mount: '' });
    }
  });

  afterAll(async () => {
    await containerd?.stop();
    await stopAll();
    await tmp.cleanup();
  });

  it('reads NAME and VERSION from /PRODUCT.TXT;1 and derives the env name from the display name', async () => {
    const spaced = archives[1];
    expect(path.basename(spaced?.iso ?? '')).toBe('example-solution-1.0.0-dev.iso');
    const infos = [];
    for (const [i, a] of archives.entries()) {
      const info = await archiveInfoFromIso(a.iso);
      expect(info.text).toMatch(/^REQUIRE_METALK8S=">=2\.4\.0"$/m);
      expect(info.text).toMatch(/^ARCHIVE_LAYOUT_VERSION=1$/m);
      const env = machineName(info);
      archives[i] = { ...a, env, mount: path.join(srv, env) };
      infos.push({ ...info, env });
    }
    expect(infos.map((x) => [x.name, x.version, x.env])).toEqual([
      ['Example', '1.0.0-dev', 'example-1.0.0-dev'],
      ['Example Solution', '1.0.0-dev', 'example-solution-1.0.0-dev'],
    ]);
    const d = (await execa('isoinfo', ['-d', '-i', spaced?.iso ?? ''])).stdout;
    expect(d).toMatch(/^Volume id: Example Solution 1\.0\.0-dev$/m);
  });

  it('holds what the import reads and applies: product.txt, images/, CRDs, operator and UI files', async () => {
    for (const a of archives) {
      expect(a.env).not.toBe('');
      await mkdir(a.mount, { recursive: true });
      await execa('bsdtar', ['-xf', a.iso, '-C', a.mount]);
      await chmod(a.mount, 0o755);
      // `file.exists` states of metalk8s.solutions.available
      expect((await stat(path.join(a.mount, 'product.txt'))).isFile()).toBe(true);
      expect((await stat(path.join(a.mount, 'images'))).isDirectory()).toBe(true);
      // CRDs: operator/deploy/crds/*_crd.yaml, each one CustomResourceDefinition.
      const crds = (await readdir(path.join(a.mount, 'operator/deploy/crds'))).filter((f) =>
        f.endsWith('_crd.yaml'),
      );
      expect(crds).toEqual(['instance_crd.yaml']);
      for (const f of crds) {
        const docs = YAML.parseAllDocuments(
          await readFile(path.join(a.mount, 'operator/deploy/crds', f), 'utf8'),
        ).map((x) => x.toJS() as { kind: string });
        expect(docs.map((x) => x.kind)).toEqual(['CustomResourceDefinition']);
      }
      const kinds: Record<string, string> = {
        'operator/deploy/role.yaml': 'Role',
        'operator/deploy/role_binding.yaml': 'RoleBinding',
        'operator/deploy/service_account.yaml': 'ServiceAccount',
        'operator/deploy/operator.yaml': 'Deployment',
        'ui/deployment.yaml': 'Deployment',
        'ui/service.yaml': 'Service',
      };
      const objects: Record<string, Record<string, unknown>> = {};
      for (const [rel, kind] of Object.entries(kinds)) {
        // Rendered as the import renders them (Jinja, then the Kubernetes object).
        const text = await renderJinjaFile(path.join(a.mount, rel), {
          repository: `registry.invalid/${a.env}`,
        });
        const obj = YAML.parse(text) as Record<string, unknown>;
        expect(obj.kind, rel).toBe(kind);
        objects[rel] = obj;
      }
      const deployment = objects['ui/deployment.yaml'] as {
        spec: { template: { metadata: { labels: Record<string, string> } } };
      };
      const service = objects['ui/service.yaml'] as { spec: { selector: Record<string, string> } };
      expect(deployment.spec.template.metadata.labels).toMatchObject(service.spec.selector);
    }
  });

  it('serves both archives beside the platform common include in one nginx; skopeo and ctr pull every referenced image', async () => {
    // The platform's constants (`/v2/`, named error locations), as its ISO ships them.
    await writeFile(
      path.join(confd, '99-registry-common.inc'),
      generateRegistryConfig({
        repos: [],
        serverRoot: '$metalk8s_2_4_0_images',
        constants: 'only',
      }),
    );
    for (const a of archives) {
      await writeFile(
        path.join(confd, `${a.env}-registry-config.inc`),
        await renderArchiveRegistryConfig(a.mount, a.env),
      );
    }
    const ngx = await startTestNginx({
      dir: path.join(tmp.path, 'nginx'),
      serverBody: `include ${confd}/*.inc;`,
    });
    containerd = await startTestContainerd(path.join(tmp.path, 'ctd'));
    let pulled = 0;
    await mkdir(path.join(tmp.path, 'pulled'));
    for (const a of archives) {
      // The UI as the cluster sees it: the archive prefix is the registry endpoint + env name.
      const ui = YAML.parse(
        await renderJinjaFile(path.join(a.mount, 'ui/deployment.yaml'), {
          repository: `${ngx.address}/${a.env}`,
        }),
      ) as { spec: { template: { spec: { containers: { image: string }[] } } } };
      const uiImages = ui.spec.template.spec.containers.map((c) => c.image);
      expect(uiImages).toEqual([`${ngx.address}/${a.env}/example-app:1.0.0-dev`]);
      // Every reference of the archive's manifests (operator, UI, CRs) resolves in the archive.
      const refs = await discoverImageRefs(a.mount);
      expect(refs.map((r) => [r.file, r.kind, `${r.image}:${r.tag}`])).toEqual([
        ['operator/deploy/operator.yaml', 'bare', 'example-app:1.0.0-dev'],
        ['ui/deployment.yaml', 'archive', 'example-app:1.0.0-dev'],
      ]);
      for (const ref of refs) {
        const manifest = await readFile(
          path.join(a.mount, 'images', ref.image, ref.tag, 'manifest.json'),
        );
        const digest = `sha256:${sha256(manifest)}`;
        const name = `${ngx.address}/${a.env}/${ref.image}:${ref.tag}`;
        const dest = path.join(tmp.path, 'pulled', `${a.env}-${String(pulled)}`);
        const copied = await execa(
          'skopeo',
          ['copy', '-q', '--src-tls-verify=false', `docker://${name}`, `dir:${dest}`],
          { reject: false },
        );
        expect(copied.exitCode, copied.stderr).toBe(0);
        expect(sha256(await readFile(path.join(dest, 'manifest.json')))).toBe(digest.slice(7));
        await containerd.ctr(['images', 'pull', '--plain-http', name]);
        const listed = await containerd.ctr(['images', 'ls']);
        const line = listed.split('\n').find((l) => l.startsWith(`${name} `));
        expect(line, listed).toContain(digest);
        pulled += 1;
      }
    }
    expect(pulled).toBe(4);
    registry = ngx.address;
    await containerd.stop();
  });

  it('answers registry 404s through the platform common include (its named locations serve every archive)', async () => {
    expect(registry).not.toBe('');
    const spaced = archives[1];
    if (spaced === undefined) throw new Error('no spaced archive');
    // A tag the archive lacks, then a tag whose manifest is gone from the archive: the second
    // goes through the Solution include's `error_page 404 @404_tag`, a named location only the
    // platform's common include defines (without it nginx answers 500).
    const dir = path.join(spaced.mount, 'images/example-app/1.0.0-dev');
    await rename(path.join(dir, 'manifest.json'), path.join(dir, 'manifest.moved'));
    try {
      for (const tag of ['9.9.9', '1.0.0-dev']) {
        const res = await fetch(`http://${registry}/v2/${spaced.env}/example-app/manifests/${tag}`);
        expect(res.status, tag).toBe(404);
        expect(await res.text(), tag).toMatch(/^\{"errors": ?\[\{"code": ?"[A-Z_]+"/);
      }
    } finally {
      await rename(path.join(dir, 'manifest.moved'), path.join(dir, 'manifest.json'));
    }
  });

  it('verify checks the same contract on an ISO: misnamed CRD, missing UI Service, unpackaged image', async () => {
    for (const a of archives) expect((await verifySolutionIso(a.iso)).problems).toEqual([]);
    const plain = archives[0];
    if (plain === undefined) throw new Error('no archive');
    const root = path.join(tmp.path, 'tampered');
    await cp(plain.mount, root, { recursive: true });
    await rename(
      path.join(root, 'operator/deploy/crds/instance_crd.yaml'),
      path.join(root, 'operator/deploy/crds/instance.yaml'),
    );
    await rm(path.join(root, 'ui/service.yaml'));
    const op = path.join(root, 'operator/deploy/operator.yaml');
    await writeFile(op, (await readFile(op, 'utf8')).replace('example-app:', 'example-ap:'));
    const iso = path.join(tmp.path, 'tampered-iso', 'example.iso');
    await writeSolutionIso({
      root,
      output: iso,
      volumeId: 'Example 1.0.0-dev',
      epoch: EPOCH,
      xorriso: 'xorriso',
    });
    const r = await verifySolutionIso(iso, { checksum: false });
    expect(r.problems.filter((p) => p.severity === 'error').map((p) => [p.code, p.file])).toEqual([
      ['ui-file-missing', 'ui/service.yaml'],
      ['crd-misnamed', 'operator/deploy/crds/instance.yaml'],
      ['image-not-packaged', 'operator/deploy/operator.yaml'],
    ]);
  });
});
