import { execFile } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMirrorPlan } from '../../buildchain/sources/embedded/content.ts';
import { mirrorDirs, seedMirror } from '../../buildchain/sources/embedded/seed.ts';
import {
  isAddressOpen,
  isGroupAlive,
  runningServerPids,
} from '../../buildchain/sources/embedded/servers.ts';
import { createSources, type Sources } from '../../buildchain/sources/sources.ts';
import { testConfig } from '../helpers/config.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import {
  FIXTURE_CALICO_NODE,
  fixturePackages,
  MIRROR_TOOLS,
  writeMirrorFixture,
} from './mirror-fixture.ts';

const run = promisify(execFile);
const missing = missingTools('skopeo', 'dnf', ...MIRROR_TOOLS);

/** A running (not zombie) process: zombies wait for init to reap them and hold nothing. */
async function isRunning(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
  } catch {
    return false;
  }
}

describe.skipIf(missing.length > 0)('embedded mirror', () => {
  let tmp: TempDir;
  let sources: Sources;

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-mirror-');
    await writeMirrorFixture(tmp.path);
    sources = createSources(testConfig(tmp.path, {}, 'embedded'));
  });

  afterAll(async () => {
    await sources.stop();
    await tmp.cleanup();
  });

  it('describes itself as stand-in content', () => {
    expect(sources.kind).toBe('embedded');
    expect(sources.describe()).toBe('embedded mirror (stand-in content, not a release)');
    expect(sources.lockDir).toBe(path.join(tmp.path, '_build', 'mirror', 'locks'));
  });

  it('serves each stand-in image by its digest under <upstream-host>/<repository>', async () => {
    const endpoint = await sources.registry('quay.io');
    expect(endpoint.pathPrefix).toBe('quay.io');
    expect(endpoint.host).toMatch(/^127\.0\.0\.1:\d+$/);
    const digest = await sources.imageDigest(FIXTURE_CALICO_NODE);
    expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    const ref = `docker://${endpoint.host}/${endpoint.pathPrefix}/calico/node@${digest ?? ''}`;
    const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', '--raw', ref]);
    expect(JSON.parse(stdout)).toMatchObject({
      mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
    });
    const dockerhub = await sources.registry('docker.io');
    const grafana = await run('skopeo', [
      'inspect',
      '--tls-verify=false',
      '--no-tags',
      `docker://${dockerhub.host}/docker.io/grafana/grafana:6.3.5`,
    ]);
    expect(
      (JSON.parse(grafana.stdout) as { Labels: Record<string, string> }).Labels[
        'org.metalk8s.stand-in'
      ],
    ).toBe('docker.io/grafana/grafana:6.3.5');
  });

  it('answers dnf repoquery with the listed NEVRAs, signed with the key served at the repo key URL', async () => {
    const base = await sources.repoUrl('http://mirror.centos.org/centos/7/os/x86_64/');
    const kube = await sources.repoUrl(
      'https://packages.cloud.google.com/yum/repos/kubernetes-el7-x86_64',
    );
    const key = await sources.repoUrl('https://packages.cloud.google.com/yum/doc/yum-key.gpg');
    const d = path.join(tmp.path, 'dnf');
    const { stdout } = await run('dnf', [
      '-q',
      '--refresh',
      '--releasever=7',
      '--setopt=reposdir=/dev/null',
      '--setopt=skip_if_unavailable=False',
      `--setopt=cachedir=${d}/cache`,
      `--setopt=system_cachedir=${d}/cache`,
      `--setopt=logdir=${d}/log`,
      `--setopt=persistdir=${d}/lib`,
      `--repofrompath=base,${base}`,
      `--repofrompath=kube,${kube}`,
      '--repo=base',
      '--repo=kube',
      'repoquery',
      '--qf',
      '%{name}-%{version}-%{release}.%{arch}',
    ]);
    // The listed packages, and what the real CentOS 7 base also has (the upstream catalogue).
    expect(stdout.trim().split('\n').sort()).toEqual([
      'kubelet-1.15.3-0.noarch',
      'python-2.7.5-86.el7.noarch',
      'socat-1.0.0-1.noarch',
      'sos-3.7-10.el7.centos.noarch',
    ]);
    await run('dnf', [
      '-q',
      '--releasever=7',
      '--setopt=reposdir=/dev/null',
      `--setopt=cachedir=${d}/cache2`,
      `--setopt=logdir=${d}/log`,
      `--setopt=persistdir=${d}/lib`,
      `--repofrompath=kube,${kube}`,
      '--repo=kube',
      '--setopt=kube.gpgcheck=1',
      `--setopt=kube.gpgkey=${key}`,
      'download',
      '--destdir',
      `${d}/dl`,
      'kubelet',
    ]);
    const rpm = path.join(d, 'dl', 'kubelet-1.15.3-0.noarch.rpm');
    expect((await stat(rpm)).size).toBeGreaterThan(0);
  });

  it('serves stand-in source files with the sha256 it tells callers to expect', async () => {
    const url = 'https://github.com/projectcalico/cni-plugin/releases/download/v3.8.2/calico-amd64';
    const res = await fetch(await sources.repoUrl(url));
    expect(res.status).toBe(200);
    const body = Buffer.from(await res.arrayBuffer());
    const { createHash } = await import('node:crypto');
    const pinned = '4675d8d195c0c30467161b459d99cbd0dd715496d4fadea1010e9deb7880f18b';
    expect(await sources.expectedSha256?.(url, pinned)).toBe(
      createHash('sha256').update(body).digest('hex'),
    );
  });

  it('re-seeds incrementally: nothing when unchanged, only the new RPM when the list grows', async () => {
    const dirs = mirrorDirs(path.join(tmp.path, '_build'));
    const plan = await loadMirrorPlan(tmp.path);
    const again = await seedMirror({ dirs, plan });
    expect(again.summary).toBe('up-to-date');
    const socat = path.join(dirs.www, 'base', 'Packages', 'socat-1.0.0-1.noarch.rpm');
    const before = await stat(socat);
    await writeFile(
      path.join(tmp.path, 'packages-specs', 'redhat-7.yaml'),
      fixturePackages('  - { name: ethtool, version: "4.8" }\n'),
    );
    const grown = await seedMirror({ dirs, plan: await loadMirrorPlan(tmp.path) });
    expect(grown.summary).toMatch(/\(1 built\)/);
    const after = await stat(socat);
    expect(after.ino).toBe(before.ino);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(await readFile(path.join(dirs.www, 'base', 'repodata', 'repomd.xml'), 'utf8')).toContain(
      'primary',
    );
    expect(again.imageDigests).toEqual(grown.imageDigests);
  });

  it('stops every server: no process left, no port bound', async () => {
    const registry = await sources.registry('k8s.gcr.io');
    const web = new URL(await sources.repoUrl('http://mirror.centos.org/centos/7/os/x86_64/')).host;
    const nginxPid = Number(
      (
        await readFile(path.join(tmp.path, '_build', 'mirror', 'nginx', 'nginx.pid'), 'utf8')
      ).trim(),
    );
    const groups = runningServerPids();
    expect(groups).toHaveLength(2);
    expect(await isAddressOpen(registry.host)).toBe(true);
    expect(await isRunning(nginxPid)).toBe(true);
    await sources.stop();
    expect(await isAddressOpen(registry.host)).toBe(false);
    expect(await isAddressOpen(web)).toBe(false);
    expect(await isRunning(nginxPid)).toBe(false);
    expect(groups.filter((pid) => isGroupAlive(pid))).toEqual([]);
    expect(runningServerPids()).toEqual([]);
    await expect(sources.registry('quay.io')).rejects.toThrow(/stopped/);
  });
});
