/**
 * ci_artifacts on an ISO actually built with xorriso from a small ISO root (two images sharing
 * a hard-linked layer, a docker-archive, a yum repo of two RPMs built with rpmbuild), checked
 * against values recomputed independently (sha256sum, rpm -qp, bsdtar extraction, inode sums).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { c as createTar } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildConfig } from '../../buildchain/config/config.ts';
import { parseSettings } from '../../buildchain/config/settings.ts';
import { resolveTools } from '../../buildchain/config/tools.ts';
import { TaskError } from '../../buildchain/engine/task.ts';
import type { BuildReport } from '../../buildchain/tasks/artifacts/report-types.ts';
import { createArtifactsTasks } from '../../buildchain/tasks/artifacts/tasks.ts';
import type { Sources } from '../../buildchain/sources/sources.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { dockerManifest } from '../helpers/docker-image.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { runOnEngine, type EngineRun } from '../helpers/engine-run.ts';
import { localExec } from './lint-helpers.ts';

const REPO = path.resolve(import.meta.dirname, '../..');
const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

async function put(file: string, data: Buffer | string): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, data);
  return sha256(data);
}

/** A skopeo-dir-like layout: manifest.json, config and layer blobs, version. */
async function imageDir(
  dir: string,
  layer: Buffer,
  configText: string,
  linkLayerFrom?: string,
): Promise<void> {
  const layerHex = sha256(layer);
  if (linkLayerFrom === undefined) await put(path.join(dir, layerHex), layer);
  else {
    await mkdir(dir, { recursive: true });
    await link(path.join(linkLayerFrom, layerHex), path.join(dir, layerHex));
  }
  await put(path.join(dir, sha256(configText)), configText);
  await put(path.join(dir, 'manifest.json'), dockerManifest(Buffer.from(configText), layer));
  await put(path.join(dir, 'version'), 'Directory Transport Version: 1.1\n');
}

function specText(name: string, epoch: string): string {
  return `Name: ${name}\n${epoch}Version: 1.0\nRelease: 1\nSummary: t\nLicense: MIT\nBuildArch: noarch\n%description\nt\n%install\nmkdir -p %{buildroot}/usr/share/${name}\necho ${name} > %{buildroot}/usr/share/${name}/f\n%files\n/usr/share/${name}/f\n`;
}

describe.skipIf(
  missingTools('xorriso', 'rpmbuild', 'createrepo_c', 'rpm', 'bsdtar', 'sha256sum').length > 0,
)('ci_artifacts on a real ISO', () => {
  let ws: TempDir;
  let config: BuildConfig;
  let isoRoot: string;
  let report: BuildReport;
  let extracted: string;

  // On the engine, with `iso` standing for the ISO built by hand here (no actions).
  const runArtifacts = (): Promise<EngineRun> =>
    runOnEngine(
      config,
      [...createArtifactsTasks(config, {} as Sources), { name: 'iso' }],
      ['ci_artifacts'],
    );

  beforeAll(async () => {
    ws = await makeTempDir('mk8s-artifacts-');
    const buildRoot = path.join(ws.path, '_build');
    isoRoot = path.join(buildRoot, 'root');
    config = {
      root: REPO,
      buildRoot,
      isoRoot,
      projectName: 'MetalK8s',
      sources: 'embedded',
      env: { ARTIFACTS_EVENT_LOG: path.join(buildRoot, 'events.ndjson') },
      settings: parseSettings({ ARTIFACTS_EVENT_LOG: path.join(buildRoot, 'events.ndjson') }),
      tools: resolveTools({}),
    };
    await put(
      path.join(isoRoot, 'product.txt'),
      'NAME=MetalK8s\nVERSION=2.4.0-beta1\nSHORT_VERSION=2.4\nGIT=2.4.0-beta1-0-gabc\nDEVELOPMENT_RELEASE=0\nBUILD_TIMESTAMP=2019-09-19T00:00:00Z\nBUILD_HOST=ci\nSOURCES=embedded\n',
    );
    const layer = Buffer.alloc(300_000, 7);
    await imageDir(path.join(isoRoot, 'images/tiny/1.0'), layer, '{"architecture":"amd64","v":1}');
    await imageDir(
      path.join(isoRoot, 'images/tiny/2.0'),
      layer,
      '{"architecture":"amd64","v":2}',
      path.join(isoRoot, 'images/tiny/1.0'),
    );
    // docker-archive of "pause"
    const arch = path.join(ws.path, 'archive');
    const cfg = '{"architecture":"amd64"}';
    await put(path.join(arch, `${sha256(cfg)}.json`), cfg);
    await put(path.join(arch, 'l1/layer.tar'), Buffer.alloc(2048, 1));
    await put(
      path.join(arch, 'manifest.json'),
      JSON.stringify([
        {
          Config: `${sha256(cfg)}.json`,
          RepoTags: ['k8s.gcr.io/pause:3.1'],
          Layers: ['l1/layer.tar'],
        },
      ]),
    );
    const tarFile = path.join(isoRoot, 'salt/files/pause-3.1.tar');
    await mkdir(path.dirname(tarFile), { recursive: true });
    await createTar({ file: tarFile, cwd: arch }, [
      'manifest.json',
      `${sha256(cfg)}.json`,
      'l1/layer.tar',
    ]);
    // a yum repository with two RPMs (one with an epoch)
    const top = path.join(ws.path, 'rpmtop');
    for (const [name, epoch] of [
      ['hello-a', ''],
      ['hello-b', 'Epoch: 2\n'],
    ] as const) {
      await put(path.join(top, 'SPECS', `${name}.spec`), specText(name, epoch));
      await localExec([
        'rpmbuild',
        '--quiet',
        '--define',
        `_topdir ${top}`,
        '-bb',
        path.join(top, 'SPECS', `${name}.spec`),
      ]);
    }
    const repo = path.join(isoRoot, 'packages/redhat/metalk8s-scality-el7');
    await mkdir(repo, { recursive: true });
    for (const f of await readdir(path.join(top, 'RPMS/noarch')))
      await writeFile(path.join(repo, f), await readFile(path.join(top, 'RPMS/noarch', f)));
    await localExec(['createrepo_c', '-q', repo]);
    // the ISO and its SHA256SUM, as the iso task leaves them
    const iso = path.join(buildRoot, 'metalk8s.iso');
    await localExec([
      'xorriso',
      '-as',
      'mkisofs',
      '-quiet',
      '-o',
      iso,
      '-R',
      '-J',
      '-joliet-long',
      '-l',
      '-V',
      'MetalK8s 2.4.0-beta1',
      '-iso-level',
      '3',
      isoRoot,
    ]);
    await writeFile(
      path.join(buildRoot, 'SHA256SUM'),
      (await localExec(['sha256sum', 'metalk8s.iso'], { cwd: buildRoot })).stdout,
    );
    const events = [
      { event: 'build-start', command: 'run', tasks: 3, workers: 2, dryRun: false },
      { event: 'skip', task: 'images', reason: 'up-to-date', reasons: [] },
      { event: 'done', task: 'iso', durationMs: 1234 },
      { event: 'start', task: 'ci_artifacts', title: 'ci_artifacts', reasons: [] },
    ];
    await writeFile(
      path.join(buildRoot, 'events.ndjson'),
      events.map((e) => JSON.stringify(e)).join('\n') + '\n',
    );

    const r = await runArtifacts();
    expect(r.exitCode, r.failures.join('\n')).toBe(0);
    report = JSON.parse(
      await readFile(path.join(buildRoot, 'artifacts/build-report.json'), 'utf8'),
    ) as BuildReport;
    extracted = path.join(ws.path, 'extracted');
    await mkdir(extracted);
    await localExec(['bsdtar', '-xf', iso, '-C', extracted]);
  });
  afterAll(async () => {
    await ws.cleanup();
  });

  it('assembles the artifacts directory with the ISO hard-linked', async () => {
    const out = path.join(config.buildRoot, 'artifacts');
    expect((await readdir(out)).sort()).toEqual([
      'SHA256SUM',
      'build-report.json',
      'events.ndjson',
      'metalk8s.iso',
      'product.txt',
      'sbom.cdx.json',
    ]);
    const [a, b] = await Promise.all([
      stat(path.join(out, 'metalk8s.iso')),
      stat(path.join(config.buildRoot, 'metalk8s.iso')),
    ]);
    expect(a.ino).toBe(b.ino);
    expect(a.nlink).toBe(2);
  });

  it('reports the ISO size and sha256 as sha256sum computes them', async () => {
    const iso = path.join(config.buildRoot, 'metalk8s.iso');
    const out = (await localExec(['sha256sum', iso])).stdout.split(' ')[0];
    expect(report.iso).toEqual({
      file: 'metalk8s.iso',
      size: (await stat(iso)).size,
      sha256: out,
      signed: false,
    });
    expect(report).toMatchObject({
      project: 'MetalK8s',
      version: '2.4.0-beta1',
      gitRef: '2.4.0-beta1-0-gabc',
      sources: 'embedded',
    });
  });

  it('lists the RPMs with the NEVRA rpm prints and the sha256 of the file inside the ISO', async () => {
    expect(report.rpms.map((r) => r.nevra)).toEqual([
      'hello-a-1.0-1.noarch',
      'hello-b-2:1.0-1.noarch',
    ]);
    for (const r of report.rpms) {
      const file = path.join(extracted, r.path);
      expect(r.sha256).toBe(sha256(await readFile(file)));
      expect((await localExec(['rpm', '-qp', '--qf', '%{NEVRA}', file])).stdout).toBe(r.nevra);
    }
    expect(report.repositories).toMatchObject([{ name: 'metalk8s-scality-el7', rpms: 2 }]);
  });

  it('lists the images with manifest digests recomputed from the ISO and dedup vs logical bytes', async () => {
    const dirImages = report.images.filter((i) => i.ship === 'dir');
    expect(dirImages.map((i) => `${i.name}:${i.version}`)).toEqual(['tiny:1.0', 'tiny:2.0']);
    for (const i of dirImages) {
      expect(i.digest).toBe(
        `sha256:${sha256(await readFile(path.join(extracted, i.path, 'manifest.json')))}`,
      );
      for (const blob of i.blobs)
        expect(blob.size).toBe(
          (await stat(path.join(extracted, i.path, blob.digest.slice(7)))).size,
        );
    }
    // independent count: `find -printf '%i %s'` over images/ and the archive
    const find = await localExec(
      ['find', 'images', 'salt/files', '-type', 'f', '-printf', '%i %s\\n'],
      { cwd: isoRoot },
    );
    const rows = find.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' '));
    const logical = rows.reduce((s, [, size]) => s + Number(size), 0);
    const dedup = [...new Map(rows.map(([ino, size]) => [ino, Number(size)])).values()].reduce(
      (s, n) => s + n,
      0,
    );
    expect(report.sizes.images).toEqual({
      logicalBytes: logical,
      dedupBytes: dedup,
      files: rows.length,
    });
    expect(logical - dedup).toBe(300_000);
    const pause = report.images.find((i) => i.ship === 'archive');
    expect(pause).toMatchObject({
      name: 'pause',
      version: '3.1',
      path: 'salt/files/pause-3.1.tar',
      digest: `sha256:${sha256('{"architecture":"amd64"}')}`,
    });
    expect(pause?.archiveSha256).toBe(
      sha256(await readFile(path.join(extracted, 'salt/files/pause-3.1.tar'))),
    );
  });

  it('writes a CycloneDX SBOM naming every image and RPM, and the build durations from the event log', async () => {
    const sbom = JSON.parse(
      await readFile(path.join(config.buildRoot, 'artifacts/sbom.cdx.json'), 'utf8'),
    ) as { specVersion: string; components: { type: string; purl: string }[] };
    expect(sbom.specVersion).toBe('1.5');
    expect(sbom.components.filter((c) => c.type === 'container')).toHaveLength(3);
    expect(sbom.components.filter((c) => c.purl.startsWith('pkg:rpm/'))).toHaveLength(2);
    expect(report.build?.tasks).toEqual([
      { task: 'images', status: 'up-to-date', durationMs: 0 },
      { task: 'iso', status: 'done', durationMs: 1234 },
      { task: 'ci_artifacts', status: 'running', durationMs: 0 },
    ]);
  });

  it('prints size changes between two reports with the report CLI', async () => {
    const bigger = { ...report, sizes: { ...report.sizes, iso: report.sizes.iso + 2048 } };
    const oldFile = path.join(ws.path, 'old.json');
    const newFile = path.join(ws.path, 'new.json');
    await writeFile(oldFile, JSON.stringify(report));
    await writeFile(newFile, JSON.stringify(bigger));
    const res = await localExec([
      path.join(REPO, 'node_modules/.bin/tsx'),
      path.join(REPO, 'buildchain/cli/report.ts'),
      'compare',
      oldFile,
      newFile,
    ]);
    expect(res.stdout.split('\n')[0]).toMatch(/^\s+\+2\.0 KiB {2}iso \(/);
  });

  it('fails with digest-mismatch when SHA256SUM does not match, leaving the previous artifacts in place', async () => {
    const sum = path.join(config.buildRoot, 'SHA256SUM');
    const good = await readFile(sum, 'utf8');
    await writeFile(sum, `${'0'.repeat(64)}  metalk8s.iso\n`);
    const fail = (await runArtifacts()).events.find((e) => e.event === 'fail');
    const err = fail?.event === 'fail' ? new TaskError(fail.reason, fail.message) : undefined;
    await writeFile(sum, good);
    expect(err).toBeInstanceOf(TaskError);
    expect((err as TaskError).reason).toBe('digest-mismatch');
    expect(existsSync(path.join(config.buildRoot, 'artifacts/build-report.json'))).toBe(true);
    expect((await readdir(config.buildRoot)).filter((f) => f.includes('staging'))).toEqual([]);
  });
});
