/**
 * Downloads from a real yum repo (createrepo_c) served by nginx on 127.0.0.1: dependency
 * resolution with dnf, lock reuse offline, checksum and signature rejection, unreachable repo;
 * then the assembled ISO repos are consumable by `dnf --installroot`.
 */
import { appendFile, chmod, mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PackageList, RepoSpec } from '../../buildchain/config/content-types.ts';
import {
  downloadIsFresh,
  downloadPackages,
  type DownloadOptions,
  type RepoManifest,
} from '../../buildchain/tasks/packages/download.ts';
import { execDirect } from '../../buildchain/engine/exec/run-command.ts';
import { packagingPaths } from '../../buildchain/tasks/packages/paths.ts';
import { assembleRepo } from '../../buildchain/tasks/packages/repo.ts';
import { dnfInstall } from '../helpers/dnf.ts';
import { freePort, startTestNginx, stopAll } from '../helpers/servers.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { makeGpgKey, type TestKey } from '../helpers/gpg.ts';
import { buildTestRpm, makeRepo, signRpms } from './packages-fixtures.ts';

const tools = ['rpmbuild', 'rpm', 'rpmsign', 'gpg', 'gpgconf', 'createrepo_c', 'dnf', 'nginx'];

describe.skipIf(missingTools(...tools).length > 0)('packages: download and repositories', () => {
  let tmp: TempDir;
  let key: TestKey;
  let base = '';
  let work = 0;

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-pkg-dl-');
    await chmod(tmp.path, 0o755); // nginx workers run as nobody
    const b = path.join(tmp.path, 'rpmbuild');
    const srv = path.join(tmp.path, 'srv');
    key = await makeGpgKey(path.join(tmp.path, 'key'));
    const signed = await buildTestRpm(b, { name: 'hello-signed', version: '1.0' });
    await signRpms(key, [signed]);
    await makeRepo(path.join(srv, 'main'), [
      await buildTestRpm(b, { name: 'hello-data', version: '1.0', requires: ['hello-dep >= 2'] }),
      await buildTestRpm(b, { name: 'hello-dep', version: '2.2' }),
      await buildTestRpm(b, { name: 'hello-dep', version: '1.0' }),
    ]);
    await makeRepo(path.join(srv, 'signed'), [signed]);
    await mkdir(path.join(srv, 'keys'));
    await execDirect(['cp', key.publicKey, path.join(srv, 'keys', 'RPM-GPG-KEY-test')]);
    await makeRepo(path.join(srv, 'badsigned'), [
      await buildTestRpm(b, { name: 'hello-unsigned', version: '1.0' }),
    ]);
    const tampered = await buildTestRpm(b, { name: 'hello-tampered', version: '1.0' });
    await makeRepo(path.join(srv, 'tampered'), [tampered]);
    await appendFile(path.join(srv, 'tampered', path.basename(tampered)), 'tampered');
    await execDirect(['chmod', '-R', 'a+rX', tmp.path]);
    const nginx = await startTestNginx({
      dir: path.join(tmp.path, 'nginx'),
      serverBody: `root ${srv}; autoindex on;`,
    });
    base = `http://${nginx.address}`;
  });

  afterAll(async () => {
    await stopAll();
    await key.stop();
    await tmp.cleanup();
  });

  const repo = (name: string, signedBy = false): RepoSpec => ({
    name,
    baseUrl: `https://upstream.example.invalid/${name}/`,
    gpgKeys: signedBy ? ['https://upstream.example.invalid/keys/RPM-GPG-KEY-test'] : [],
    isoName: `metalk8s-${name}-el7`,
  });
  const list = (repos: RepoSpec[], names: string[]): PackageList => ({
    osFamily: 'redhat-7',
    releasever: '7',
    distTag: 'el7',
    repos,
    packages: names.map((n) => ({ name: n, repo: '', built: false })),
  });
  // The "mirror": upstream URLs are mapped to the loopback nginx, as Sources.repoUrl does.
  const toLoopback = (u: string) =>
    Promise.resolve(u.replace('https://upstream.example.invalid', base));
  const options = (
    l: PackageList,
    dir = path.join(tmp.path, `work-${String(++work)}`),
  ): DownloadOptions => ({
    list: l,
    paths: packagingPaths(path.join(dir, 'build'), path.join(dir, 'iso'), l.osFamily),
    lockFile: path.join(dir, 'locks', 'redhat-7.lock.json'),
    resolveUrl: toLoopback,
    exec: execDirect,
  });

  let shared: DownloadOptions;

  it('resolves dependencies with dnf, downloads, verifies and locks', async () => {
    shared = options(list([repo('main'), repo('signed', true)], ['hello-data', 'hello-signed']));
    const r = await downloadPackages(shared);
    expect(r.resolved).toBe(true);
    expect(r.lock.packages.map((p) => `${p.repo}/${p.name}-${p.version}`).sort()).toEqual([
      'main/hello-data-1.0',
      'main/hello-dep-2.2',
      'signed/hello-signed-1.0',
    ]);
    expect(r.lock.keys).toHaveLength(1);
    const lockText = await readFile(shared.lockFile, 'utf8');
    expect(lockText).toContain('"hello-dep"');
    const cached = await readdir(path.join(shared.paths.cache, 'main'));
    expect(cached.sort()).toEqual(['hello-data-1.0-1.noarch.rpm', 'hello-dep-2.2-1.noarch.rpm']);
    expect(await downloadIsFresh(shared)).toBe(true);
  });

  it('reuses the lock without network or dnf, and refetches only what the cache lacks', async () => {
    const offline = {
      ...shared,
      dnfBin: '/nonexistent/dnf',
      resolveUrl: () => Promise.reject(new Error('network used')),
    };
    const r = await downloadPackages(offline);
    expect(r).toMatchObject({ resolved: false, fetched: 0 });
    await rm(path.join(shared.paths.cache, 'main', 'hello-dep-2.2-1.noarch.rpm'));
    expect(await downloadIsFresh(shared)).toContain('hello-dep-2.2-1.noarch.rpm');
    const again = await downloadPackages({ ...shared, dnfBin: '/nonexistent/dnf' });
    expect(again).toMatchObject({ resolved: false, fetched: 1 });
  });

  it('rejects an RPM whose checksum does not match the repodata, leaving nothing in the cache', async () => {
    const o = options(list([repo('tampered')], ['hello-tampered']));
    const err = await downloadPackages(o).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'digest-mismatch' });
    expect((err as Error).message).toContain(
      "RPM hello-tampered-1.0-1.noarch.rpm of repo 'tampered'",
    );
    expect(await readdir(path.join(o.paths.cache, 'tampered')).catch(() => [])).toEqual([]);
    await expect(stat(o.lockFile)).rejects.toThrow();
  });

  it('rejects an unsigned RPM in a repo that declares GPG keys', async () => {
    const o = options(list([repo('badsigned', true)], ['hello-unsigned']));
    const err = await downloadPackages(o).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'invalid-input' });
    expect((err as Error).message).toBe(
      "RPM hello-unsigned-1.0-1.noarch.rpm of repo 'badsigned' is not signed, but the repo declares GPG keys",
    );
  });

  it('rejects an RPM signed by another key than the repo declares', async () => {
    const wrong = await makeGpgKey(path.join(tmp.path, 'wrong-key'));
    try {
      const srvKey = path.join(tmp.path, 'srv', 'keys', 'RPM-GPG-KEY-wrong');
      await execDirect(['cp', wrong.publicKey, srvKey]);
      await chmod(srvKey, 0o644);
      const r = {
        ...repo('signed', true),
        gpgKeys: ['https://upstream.example.invalid/keys/RPM-GPG-KEY-wrong'],
      };
      const err = await downloadPackages(options(list([r], ['hello-signed']))).catch(
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ reason: 'invalid-input' });
      expect((err as Error).message).toContain("fails its signature check against the repo's keys");
    } finally {
      await wrong.stop();
    }
  });

  it('fails fast on an unreachable repo, naming the repo and the settings', async () => {
    const port = await freePort();
    const o = {
      ...options(list([repo('gone')], ['hello-data'])),
      resolveUrl: (u: string) =>
        Promise.resolve(
          u.replace('https://upstream.example.invalid', `http://127.0.0.1:${String(port)}`),
        ),
    };
    const err = await downloadPackages(o).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: 'unreachable' });
    expect((err as Error).message).toContain("package repo 'gone' is unreachable");
    expect((err as { hint?: string }).hint).toContain('PACKAGE_MIRRORS');
  });

  it('fails naming a package no repo has', async () => {
    const err = await downloadPackages(options(list([repo('main')], ['no-such-package']))).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ reason: 'invalid-input' });
    expect((err as Error).message).toContain('no-such-package');
  });

  async function assemble(m: RepoManifest, dir: string): Promise<void> {
    await assembleRepo({
      dir,
      staging: path.join(path.dirname(dir), `.staging-${m.isoName}`),
      rpms: m.rpms.map((r) => ({ src: path.join(shared.paths.root, r.file), dest: r.name })),
      keys: m.keys.map((k) => ({ src: path.join(shared.paths.root, k.file), dest: k.name })),
      epoch: 1_700_000_000,
      exec: execDirect,
    });
  }

  it('assembles deterministic repos that dnf --installroot installs from, with gpgcheck', async () => {
    const manifests = (await downloadPackages(shared)).manifests;
    const isoRepos = path.join(tmp.path, 'iso', 'packages', 'redhat');
    for (const m of manifests) await assemble(m, path.join(isoRepos, m.isoName));
    const signedDir = path.join(isoRepos, 'metalk8s-signed-el7');
    expect((await readdir(signedDir)).sort()).toEqual([
      'RPM-GPG-KEY-metalk8s-signed-7_1',
      'hello-signed-1.0-1.noarch.rpm',
      'repodata',
    ]);
    // Same RPMs → byte-identical repodata.
    const again = path.join(tmp.path, 'iso2', 'metalk8s-main-el7');
    const main = manifests.find((m) => m.repo === 'main');
    if (main === undefined) throw new Error('no main manifest');
    await assemble(main, again);
    const repomd = (d: string) => readFile(path.join(d, 'repodata', 'repomd.xml'), 'utf8');
    expect(await repomd(again)).toBe(await repomd(path.join(isoRepos, 'metalk8s-main-el7')));

    const root = path.join(tmp.path, 'installroot');
    // With --installroot, dnf keeps its cache, logs and state inside the root.
    const r = await dnfInstall(root, ['hello-data', 'hello-signed'], {
      repos: [
        { name: 'main', dir: path.join(isoRepos, 'metalk8s-main-el7') },
        { name: 'signed', dir: signedDir, keys: [`${signedDir}/RPM-GPG-KEY-metalk8s-signed-7_1`] },
      ],
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toContain('Importing GPG key'); // gpgcheck was on for the signed repo
    const q = await execDirect(['rpm', '--root', root, '-qa', '--qf', '%{NAME}-%{VERSION}\n']);
    expect(
      q.stdout
        .split('\n')
        .filter((l) => l.startsWith('hello-'))
        .sort(),
    ).toEqual(['hello-data-1.0', 'hello-dep-2.2', 'hello-signed-1.0']);
  });

  it('replaces a repo as a whole: an RPM of an older version never stays', async () => {
    const dir = path.join(tmp.path, 'iso3', 'metalk8s-main-el7');
    const main = (await downloadPackages(shared)).manifests.find((m) => m.repo === 'main');
    if (main === undefined) throw new Error('no main manifest');
    await assemble(main, dir);
    await assemble(
      { ...main, rpms: main.rpms.filter((r) => !r.name.startsWith('hello-dep')) },
      dir,
    );
    expect((await readdir(dir)).sort()).toEqual(['hello-data-1.0-1.noarch.rpm', 'repodata']);
    const primary = await execDirect([
      'dnf',
      '-q',
      '--setopt=reposdir=/dev/null',
      `--setopt=cachedir=${tmp.path}/dnf-q`,
      '--releasever=7',
      `--repofrompath=r,file://${dir}`,
      '--repo=r',
      'repoquery',
      '--qf',
      '%{name}',
    ]);
    expect(primary.stdout.trim()).toBe('hello-data');
  });
});
