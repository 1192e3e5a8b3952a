/**
 * `npm run build iso` end to end, in a copy of the repository (node_modules symlinked) with the
 * default embedded sources, checked with independent readers: isoinfo, bsdtar, nginx + skopeo
 * on the extracted images, dnf repoquery on the extracted repositories; then a no-op rerun, a
 * one-Salt-file incremental rebuild (JSON reporter events), a local image change carried into
 * the ISO with nothing else rebuilt, and reproducibility: a rebuild from
 * an empty build directory gives the same ISO bytes.
 */
import { execFile } from 'node:child_process';
import { appendFile, chmod, copyFile, readFile, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  extractIso,
  isoVolumeInfo,
  listIso,
  readIsoFilePrimary,
} from '../../buildchain/media/iso/read-iso.ts';
import { parseNdjson, type JsonEvent } from '../helpers/ndjson.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { startTestNginx, stopAll } from '../helpers/servers.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { copyRepository } from '../helpers/workspace.ts';

const REPO = path.resolve(import.meta.dirname, '../..');
const TSX = pathToFileURL(path.join(REPO, 'node_modules/tsx/dist/loader.mjs')).href;
const missing = missingTools(
  'xorriso',
  'isoinfo',
  'bsdtar',
  'checkisomd5',
  'skopeo',
  'nginx',
  'dnf',
  'createrepo_c',
  'rpmbuild',
  'buildah',
);
const EPOCH = '1700000000';

async function build(
  dir: string,
  ...args: string[]
): Promise<{ code: number; events: JsonEvent[]; stderr: string }> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    SOURCE_DATE_EPOCH: EPOCH,
  };
  try {
    const r = await promisify(execFile)(
      process.execPath,
      ['--import', TSX, 'buildchain/cli/bin.ts', '--reporter', 'json', ...args],
      {
        cwd: dir,
        env,
        maxBuffer: 64 << 20,
      },
    );
    return { code: 0, events: parseNdjson(r.stdout), stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, events: parseNdjson(e.stdout ?? ''), stderr: e.stderr ?? '' };
  }
}

const started = (events: readonly JsonEvent[]): string[] =>
  events
    .filter((e) => e.event === 'start')
    .map((e) => e.task ?? '')
    .sort();

describe.skipIf(missing.length > 0)('npm run build iso (end to end)', () => {
  let tmp: TempDir;
  let repo: string;
  let iso: string;
  let tree: string;
  let first: Awaited<ReturnType<typeof build>>;

  beforeAll(async () => {
    tmp = await makeTempDir('iso-e2e-');
    // nginx workers run as nobody: the extracted tree must be reachable.
    await chmod(tmp.path, 0o755);
    repo = path.join(tmp.path, 'repo');
    await copyRepository(repo);
    first = await build(repo, 'iso');
    iso = path.join(repo, '_build/metalk8s.iso');
    tree = path.join(tmp.path, 'tree');
  }, 600_000);
  afterAll(async () => {
    await stopAll();
    await tmp.cleanup();
  });

  it('builds _build/metalk8s.iso with SHA256SUM', async () => {
    expect(first.code, first.stderr).toBe(0);
    expect(started(first.events)).toEqual(
      expect.arrayContaining(['_iso_build', '_iso_digest', 'salt:copy', 'iso-root:product']),
    );
    expect(await readFile(path.join(repo, '_build/SHA256SUM'), 'utf8')).toMatch(
      /^[a-f0-9]{64} {2}metalk8s\.iso\n$/,
    );
  });

  it('reads back with isoinfo (volume id, Rock Ridge, Joliet, /PRODUCT.TXT;1) and bsdtar', async () => {
    const info = await isoVolumeInfo(iso);
    expect(info).toMatchObject({ volumeId: 'MetalK8s 2.4.0-beta1', rockRidge: true, joliet: true });
    const product = (await readIsoFilePrimary(iso, '/PRODUCT.TXT;1')).toString();
    expect(product).toMatch(/^NAME=MetalK8s\nVERSION=2\.4\.0-beta1\nSHORT_VERSION=2\.4\n/);
    expect(product).toContain('BUILD_TIMESTAMP=2023-11-14T22:13:20Z\n');
    const list = await listIso(iso);
    for (const p of [
      'bootstrap.sh',
      'restore.sh',
      'solution-manager.sh',
      'examples/new-node.yaml',
      'salt/top.sls',
      'pillar/top.sls',
      'salt/metalk8s/versions.json',
    ]) {
      expect(list).toContain(p);
    }
    expect(list.some((p) => /^images\/coredns\/1\.3\.1\/manifest\.json$/.test(p))).toBe(true);
    expect(
      list.some((p) => /^packages\/redhat\/metalk8s-[a-z]+-el7\/repodata\/repomd\.xml$/.test(p)),
    ).toBe(true);
  });

  it('passes the verify task', async () => {
    const r = await build(repo, 'verify');
    expect(r.code, `${r.stderr}\n${JSON.stringify(r.events.slice(-4))}`).toBe(0);
  });

  it('serves its images through nginx from the extracted tree, pulled with skopeo', async () => {
    await extractIso(iso, tree);
    const files = path.join(tree, 'salt/metalk8s/repo/files');
    const includes = (await readdir(files)).filter((f) => f.endsWith('.inc')).sort();
    expect(includes.length).toBeGreaterThan(0);
    const server = await startTestNginx({
      dir: path.join(tmp.path, 'nginx'),
      serverBody: [
        `set $metalk8s_2_4_0_beta1_images "${path.join(tree, 'images')}";`,
        ...includes.map((f) => `include ${path.join(files, f)};`),
      ].join('\n'),
    });
    const out = path.join(tmp.path, 'pulled');
    await promisify(execFile)('skopeo', [
      '--insecure-policy',
      'copy',
      '--src-tls-verify=false',
      `docker://${server.address}/metalk8s-2.4.0-beta1/coredns:1.3.1`,
      `dir:${out}`,
    ]);
    const pulled = await readFile(path.join(out, 'manifest.json'));
    expect(
      pulled.equals(await readFile(path.join(tree, 'images/coredns/1.3.1/manifest.json'))),
    ).toBe(true);
  });

  it('has yum repositories dnf can query', async () => {
    const repos = (await readdir(path.join(tree, 'packages/redhat'))).sort();
    expect(repos.length).toBeGreaterThan(0);
    const dnf = path.join(tmp.path, 'dnf');
    const r = await promisify(execFile)('dnf', [
      '-q',
      '--releasever=7',
      '--setopt=reposdir=/dev/null',
      `--setopt=cachedir=${dnf}/cache`,
      `--setopt=logdir=${dnf}/log`,
      `--setopt=persistdir=${dnf}/lib`,
      '--setopt=skip_if_unavailable=False',
      ...repos.flatMap((name) => [
        `--repofrompath=${name},file://${path.join(tree, 'packages/redhat', name)}`,
        `--repo=${name}`,
      ]),
      'repoquery',
      '--qf',
      '%{name}',
    ]);
    expect(r.stdout.split('\n')).toEqual(expect.arrayContaining(['salt-minion']));
  });

  it('reruns as a no-op: no task executes', async () => {
    const r = await build(repo, 'iso');
    expect(r.code, `${r.stderr}\n${JSON.stringify(r.events.slice(-4))}`).toBe(0);
    expect(started(r.events)).toEqual([]);
  });

  it('rebuilds only what depends on one changed Salt file', async () => {
    await appendFile(path.join(repo, 'salt/metalk8s/repo/init.sls'), '# changed\n');
    const r = await build(repo, 'iso');
    expect(r.code, `${r.stderr}\n${JSON.stringify(r.events.slice(-4))}`).toBe(0);
    // populate_iso runs only when the ISO root holds strays (its up-to-date check).
    expect(started(r.events).filter((t) => t !== 'populate_iso')).toEqual([
      '_iso_build',
      '_iso_digest',
      'salt:copy',
    ]);
  });

  it('carries a changed local image into the ISO, reruns nothing else, then is a no-op', async () => {
    // Regression: the SOURCES=embedded stand-in ignored its real context, so an edited context
    // rebuilt the same image and the ISO kept the old one; repos must not be reassembled.
    const layout = path.join(repo, '_build/root/images/keepalived/1.3.5-16.el7-1');
    const oldManifest = await readFile(path.join(layout, 'manifest.json'), 'utf8');
    await appendFile(path.join(repo, 'images/keepalived/entrypoint.sh'), '# changed\n');
    const r = await build(repo, 'iso');
    expect(r.code, `${r.stderr}\n${JSON.stringify(r.events.slice(-4))}`).toBe(0);
    expect(started(r.events).filter((t) => t !== 'populate_iso')).toEqual([
      '_iso_build',
      '_iso_digest',
      'images:build:keepalived',
      'images:dedup',
      'images:prune',
      'images:registry-config',
    ]);
    const manifest = await readFile(path.join(layout, 'manifest.json'), 'utf8');
    expect(manifest).not.toBe(oldManifest);
    const list = await listIso(iso);
    const blobs = [...manifest.matchAll(/"sha256:([0-9a-f]{64})"/g)].map((m) => m[1] ?? '');
    expect(blobs.length).toBeGreaterThan(1);
    for (const hex of blobs) expect(list).toContain(`images/keepalived/1.3.5-16.el7-1/${hex}`);
    const again = await build(repo, 'iso');
    expect(again.code, again.stderr).toBe(0);
    expect(started(again.events)).toEqual([]);
  }, 600_000);

  it('is byte-identical when built again from an empty build directory', async () => {
    const before = path.join(tmp.path, 'before.iso');
    await copyFile(iso, before);
    // Nothing is kept: no engine state, no embedded mirror cache (its stand-in RPMs are signed
    // with the committed key under a frozen clock), no image layouts, no ISO root.
    await rm(path.join(repo, '_build'), { recursive: true, force: true });
    const r = await build(repo, 'iso');
    expect(r.code, `${r.stderr}\n${JSON.stringify(r.events.slice(-4))}`).toBe(0);
    expect(started(r.events)).toEqual(
      expect.arrayContaining(['_iso_build', 'salt:copy', 'iso-root:scripts']),
    );
    expect((await readFile(iso)).equals(await readFile(before))).toBe(true);
  }, 600_000);
});
