/**
 * Closure of the ISO's yum repos, with the real dnf, rpmbuild, createrepo_c and gpg:
 * - `checkRepoClosure` on repos laid out as on the ISO: passes on closed repos, fails naming the
 *   package and each missing requirement, and on a signed build refuses a repo without
 *   `repomd.xml.asc` or with one its shipped keys do not verify;
 * - `assembleRepo` with a gpg that exits 0 without signing fails instead of shipping an
 *   unsigned repo;
 * - `npm run build -- packaging` (SOURCES=upstream, nginx on 127.0.0.1): the download fetches
 *   what a built RPM requires although the list does not name it, fails naming the built package
 *   and its requirement when no repo provides it, and `packaging:closure` fails on a repo of the
 *   ISO root that is not closed.
 */
import { chmod, copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execDirect } from '../../buildchain/engine/exec/run-command.ts';
import { checkRepoClosure } from '../../buildchain/tasks/packages/closure.ts';
import { assembleRepo } from '../../buildchain/tasks/packages/repo.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { startTestNginx, stopAll } from '../helpers/servers.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { makeGpgKey, type TestKey } from '../helpers/gpg.ts';
import {
  buildTestRpm,
  makeRepo,
  packagingWorkspace,
  runPackagingCli,
} from './packages-fixtures.ts';

const TOOLS = [
  'rpmbuild',
  'rpmspec',
  'rpm',
  'createrepo_c',
  'dnf',
  'gpg',
  'gpgconf',
  'nginx',
  'pgrep',
];

async function failureOf(p: Promise<unknown>): Promise<Error & { reason?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { reason?: string };
  }
  throw new Error('expected a failure');
}

describe.skipIf(missingTools(...TOOLS).length > 0)('closure of the ISO repos', () => {
  let tmp: TempDir;
  let key: TestKey;
  const rpms: Record<string, string> = {};
  const exec = (argv: readonly string[], o?: Parameters<typeof execDirect>[1]) =>
    execDirect(argv, o);

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-pkg-closure-');
    await chmod(tmp.path, 0o755);
    key = await makeGpgKey(path.join(tmp.path, 'key'));
    const b = path.join(tmp.path, 'b');
    rpms.app = await buildTestRpm(b, {
      name: 'app',
      version: '1.0',
      requires: ['lib >= 2', 'ghost-abi = 7'],
    });
    rpms.lib = await buildTestRpm(b, { name: 'lib', version: '2.1' });
  });
  afterAll(async () => {
    await key.stop();
    await stopAll();
    await tmp.cleanup();
  });

  /** `<isoRoot>/packages/redhat`-like dir with repos made of `layout` (repo → RPM names). */
  async function isoRepos(name: string, layout: Record<string, string[]>): Promise<string> {
    const root = path.join(tmp.path, name);
    for (const [repo, names] of Object.entries(layout))
      await makeRepo(
        path.join(root, repo),
        names.map((n) => rpms[n] ?? ''),
      );
    return root;
  }

  const check = (root: string, signed = false) =>
    checkRepoClosure({
      isoRepos: root,
      workDir: path.join(root, '..', `${path.basename(root)}-dnf`),
      releasever: '7',
      basearch: 'x86_64',
      signed,
      exec,
      listFile: 'packages-specs/redhat-7.yaml',
    });

  it('fails naming the package, its repo and each missing requirement', async () => {
    const root = await isoRepos('unclosed', { 'r-app': ['app'], 'r-lib': ['lib'] });
    const err = await failureOf(check(root));
    expect(err.reason).toBe('invalid-input');
    expect(err.message).toContain('not closed');
    expect(err.message).toContain('app-1.0-1.noarch (r-app) requires ghost-abi = 7');
    // lib >= 2 is provided by the other repo: only the real gap is named.
    expect(err.message).not.toContain('lib >= 2');
  });

  it('passes when every requirement has a provider in some enabled repo', async () => {
    rpms.ghost = await buildTestRpm(path.join(tmp.path, 'b'), {
      name: 'ghost',
      version: '7',
    });
    rpms.app2 = await buildTestRpm(path.join(tmp.path, 'b'), {
      name: 'app2',
      version: '1.0',
      requires: ['lib >= 2', 'ghost = 7'],
    });
    const root = await isoRepos('closed', { 'r-app': ['app2'], 'r-lib': ['lib', 'ghost'] });
    const report = await check(root);
    expect(report.repos.map((r) => r.name)).toEqual(['r-app', 'r-lib']);
  });

  describe('signed builds', () => {
    async function signedRepo(name: string, rpmNames: string[]): Promise<string> {
      const dir = path.join(tmp.path, name);
      await assembleRepo({
        dir,
        staging: `${dir}.staging`,
        rpms: rpmNames.map((n) => ({
          src: rpms[n] ?? '',
          dest: path.basename(rpms[n] ?? ''),
        })),
        keys: [],
        epoch: 1_700_000_000,
        exec,
        sign: { keyName: key.keyName, gnupgHome: key.home, exportKeyAs: 'RPM-GPG-KEY-test-7' },
      });
      return dir;
    }

    it('passes with repo_gpgcheck=1 when every repo is signed and ships the key', async () => {
      const root = path.join(tmp.path, 'signed-ok');
      await mkdir(root);
      await signedRepo('signed-ok/r-app', ['app2']);
      await signedRepo('signed-ok/r-lib', ['lib', 'ghost']);
      const report = await check(root, true);
      expect(report.repoGpgcheck).toBe(true);
      expect(report.repos.every((r) => r.gpgcheck)).toBe(true);
      // dnf started a gpg-agent per repo keyring for repo_gpgcheck: none is left running.
      // `gpgconf --kill` returns before the agent has exited: a loaded machine may still
      // list it for a moment, so this waits (at most 5 s) for the list to empty.
      let agents = '';
      for (let i = 0; i < 100; i++) {
        agents = (
          await execDirect(['pgrep', '-f', `gpg-agent --homedir ${root}-dnf`], { reject: false })
        ).stdout;
        if (agents === '') break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(agents).toBe('');
    });

    it('refuses a repo without repomd.xml.asc, naming it', async () => {
      const root = path.join(tmp.path, 'signed-missing');
      await mkdir(root);
      await signedRepo('signed-missing/r-app', ['app2']);
      const lib = await signedRepo('signed-missing/r-lib', ['lib', 'ghost']);
      await rm(path.join(lib, 'repodata', 'repomd.xml.asc'));
      const err = await failureOf(check(root, true));
      expect(err.message).toBe(
        'signed build: repo r-lib has no repodata/repomd.xml.asc, so a node with repo_gpgcheck=1 refuses it',
      );
    });

    it('refuses a repo whose repomd.xml.asc its shipped keys do not verify', async () => {
      const root = path.join(tmp.path, 'signed-wrong');
      await mkdir(root);
      await signedRepo('signed-wrong/r-app', ['app2']);
      const lib = await signedRepo('signed-wrong/r-lib', ['lib', 'ghost']);
      const other = await makeGpgKey(path.join(tmp.path, 'other-key'));
      try {
        await copyFile(other.publicKey, path.join(lib, 'RPM-GPG-KEY-test-7'));
      } finally {
        await other.stop();
      }
      const err = await failureOf(check(root, true));
      expect(err.message).toContain('repo r-lib');
      expect(err.message).toContain('does not verify');
    });

    it('assembleRepo fails when gpg writes no signature (never an unsigned repo)', async () => {
      const fake = path.join(tmp.path, 'fake-gpg');
      await writeFile(fake, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
      const dir = path.join(tmp.path, 'unsigned-out');
      const err = await failureOf(
        assembleRepo({
          dir,
          staging: `${dir}.staging`,
          rpms: [{ src: rpms.lib ?? '', dest: 'lib.rpm' }],
          keys: [],
          epoch: 1_700_000_000,
          exec,
          sign: { keyName: key.keyName, gnupgHome: key.home, gpgBin: fake },
        }),
      );
      expect(err.reason).toBe('target-not-produced');
      expect(err.message).toContain('repodata/repomd.xml.asc');
      await expect(readdir(dir)).rejects.toThrow();
    });
  });

  describe('npm run build -- packaging', () => {
    let ws = '';
    const SPEC = (requires: string) => `Name: needy
Version: 1.0
Release: 1%{?dist}
Summary: built, with a requirement the list does not name
License: MIT
BuildArch: noarch
Requires: ${requires}

%description
Test.

%install
mkdir -p %{buildroot}/usr/share/needy
echo needy > %{buildroot}/usr/share/needy/needy.txt

%files
/usr/share/needy/needy.txt
`;

    const build = async (...args: string[]) => {
      const r = await runPackagingCli(ws, args);
      return { code: r.code ?? -1, stderr: r.stderr, out: r.stdout + r.stderr };
    };
    const isoRepo = (name: string) => path.join(ws, '_build', 'root', 'packages', 'redhat', name);

    beforeAll(async () => {
      const srv = path.join(tmp.path, 'srv');
      await makeRepo(path.join(srv, 'main'), [rpms.lib ?? '', rpms.ghost ?? '']);
      await execDirect(['chmod', '-R', 'a+rX', srv]);
      const nginx = await startTestNginx({
        dir: path.join(tmp.path, 'nginx'),
        serverBody: `root ${srv};`,
      });
      ws = path.join(tmp.path, 'ws');
      await packagingWorkspace(ws, {
        repos: { main: `http://${nginx.address}/main/` },
        packages: [{ name: 'needy' }],
      });
    });

    it('downloads what a built RPM requires though the list does not name it', async () => {
      await writeFile(path.join(ws, 'packages-specs', 'needy', 'needy.spec'), SPEC('lib >= 2'));
      const r = await build('packaging');
      expect(r.code, r.stderr).toBe(0);
      expect(await readdir(isoRepo('metalk8s-main-el7'))).toContain('lib-2.1-1.noarch.rpm');
    });

    it('fails naming the built package and its requirement when no repo provides it', async () => {
      await writeFile(
        path.join(ws, 'packages-specs', 'needy', 'needy.spec'),
        SPEC('nowhere-abi >= 3'),
      );
      const r = await build('packaging');
      expect(r.code).toBe(1);
      expect(r.out).toContain('needy requires nowhere-abi >= 3');
      expect(r.out).toContain('packages-specs/redhat-7.yaml');
      expect(r.out).not.toMatch(/\n\s+at .*\.ts:\d+/);
    });

    it('packaging:closure fails on a repo of the ISO root that is not closed', async () => {
      await writeFile(path.join(ws, 'packages-specs', 'needy', 'needy.spec'), SPEC('ghost = 7'));
      expect((await build('packaging')).code).toBe(0);
      // A repo the node would enable too (every directory of packages/redhat), not closed.
      await makeRepo(isoRepo('foreign'), [rpms.app ?? '']);
      // Its dependencies are unchanged: the new repo alone makes the check run again.
      const forced = await build('packaging');
      expect(forced.code).toBe(1);
      expect(forced.out).toContain('app-1.0-1.noarch (foreign) requires ghost-abi = 7');
      expect(forced.out).toContain('packages-specs/redhat-7.yaml');
    });
  });
});
