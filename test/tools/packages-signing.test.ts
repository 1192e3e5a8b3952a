/**
 * Repodata and RPM signing with a throwaway gpg key: `assembleRepo` called directly, then the
 * real CLI with RPM_SIGN_KEY/GNUPGHOME in the workspace `.env`. Checks the detached signature
 * with gpg in a fresh keyring, the exported key file, dnf with repo_gpgcheck/gpgcheck (and its
 * refusal of a tampered repomd.xml), rpmkeys on the built RPMs, and that no gpg-agent is left
 * running for the GNUPGHOME.
 */
import { chmod, cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execDirect } from '../../buildchain/engine/exec/run-command.ts';
import { assembleRepo } from '../../buildchain/tasks/packages/repo.ts';
import { dnfInstall as dnfInstallInto } from '../helpers/dnf.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { makeGpgKey, type TestKey } from '../helpers/gpg.ts';
import {
  buildTestRpm,
  packagingWorkspace,
  runPackagingCli,
  signRpms,
} from './packages-fixtures.ts';

const EPOCH = 1700000000;

const SPEC = `Name: signed-built
Version: 1.0
Release: 1%{?dist}
Summary: built and signed by the buildchain
License: MIT
BuildArch: noarch
Source0: hello.txt

%description
Test.

%install
mkdir -p %{buildroot}/usr/share/signed-built
install -m 644 %{SOURCE0} %{buildroot}/usr/share/signed-built/

%files
/usr/share/signed-built/hello.txt
`;

/** True when a gpg-agent runs for `home` (the agent's command line names its homedir). */
async function hasAgent(home: string): Promise<boolean> {
  const r = await execDirect(['pgrep', '-f', `gpg-agent --homedir ${home}`], { reject: false });
  return r.exitCode === 0;
}

/** `gpg --verify` of `repomd.xml.asc` with only `publicKey` in a fresh keyring under `work`. */
async function verifyRepomd(
  work: string,
  repoDir: string,
  publicKey: string,
): Promise<{ exitCode: number; stderr: string }> {
  const home = path.join(work, 'verify-gnupg');
  await mkdir(home, { recursive: true, mode: 0o700 });
  const env = { GNUPGHOME: home };
  try {
    await execDirect(['gpg', '--batch', '--import', publicKey], { env });
    const repomd = path.join(repoDir, 'repodata', 'repomd.xml');
    return await execDirect(['gpg', '--batch', '--verify', `${repomd}.asc`, repomd], {
      env,
      reject: false,
    });
  } finally {
    await execDirect(['gpgconf', '--homedir', home, '--kill', 'gpg-agent'], { reject: false });
  }
}

/** Hermetic `dnf install` into a fresh installroot from the local repo, all GPG checks on. */
async function dnfInstall(
  work: string,
  repoDir: string,
  keyFile: string,
  pkgs: readonly string[],
): Promise<{ exitCode: number; stderr: string }> {
  // dnf does not create its log dir (it fails with `Failed to open log file`).
  await mkdir(path.join(work, 'log'), { recursive: true });
  return dnfInstallInto(path.join(work, 'root'), pkgs, {
    repos: [{ name: 'signed', dir: repoDir, keys: [keyFile] }],
    repoGpgcheck: true,
    stateDir: work,
  });
}

async function installed(work: string): Promise<string> {
  return (
    await execDirect([
      'rpm',
      '--root',
      path.join(work, 'root'),
      '-qa',
      '--qf',
      '%{NAME}-%{VERSION}\n',
    ])
  ).stdout;
}

/** `rpmkeys --checksig` of `files` against a private rpm database holding only `publicKey`. */
async function checksig(
  dbpath: string,
  publicKey: string,
  files: readonly string[],
): Promise<{ exitCode: number; stdout: string }> {
  await mkdir(dbpath, { recursive: true });
  await execDirect(['rpmkeys', '--dbpath', dbpath, '--import', publicKey]);
  return execDirect(['rpmkeys', '--dbpath', dbpath, '--checksig', ...files], { reject: false });
}

const TOOLS = [
  'rpmbuild',
  'rpmspec',
  'rpm',
  'rpmkeys',
  'rpmsign',
  'createrepo_c',
  'dnf',
  'gpg',
  'gpgconf',
  'pgrep',
];

describe.skipIf(missingTools(...TOOLS).length > 0)('signed repodata (assembleRepo)', () => {
  let tmp: TempDir;
  let key: TestKey;
  let repoDir = '';
  let rpms: string[] = [];
  const KEY_FILE = 'RPM-GPG-KEY-test-7';

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-pkg-sign-');
    await chmod(tmp.path, 0o755);
    key = await makeGpgKey(tmp.path);
    rpms = [
      await buildTestRpm(path.join(tmp.path, 'b'), {
        name: 'sig-app',
        version: '1.0',
        requires: ['sig-lib'],
      }),
      await buildTestRpm(path.join(tmp.path, 'b'), { name: 'sig-lib', version: '2.0' }),
    ];
    await signRpms(key, rpms);
    // The fixtures started an agent: stop it so that the check below sees only assembleRepo's.
    await key.stop();
    repoDir = path.join(tmp.path, 'iso', 'packages', 'redhat', 'test-signed-el7');
    await assembleRepo({
      dir: repoDir,
      staging: path.join(tmp.path, 'staging', 'test-signed-el7'),
      rpms: rpms.map((r) => ({ src: r, dest: path.basename(r) })),
      keys: [],
      epoch: EPOCH,
      exec: execDirect,
      sign: { keyName: key.keyName, gnupgHome: key.home, exportKeyAs: KEY_FILE },
    });
  });

  afterAll(async () => {
    await key.stop();
    await tmp.cleanup();
  });

  it('writes repomd.xml.asc, which gpg verifies with the exported key in a fresh keyring', async () => {
    expect((await readdir(repoDir)).sort()).toEqual([
      KEY_FILE,
      'repodata',
      'sig-app-1.0-1.noarch.rpm',
      'sig-lib-2.0-1.noarch.rpm',
    ]);
    expect(await readFile(path.join(repoDir, KEY_FILE), 'utf8')).toContain(
      'BEGIN PGP PUBLIC KEY BLOCK',
    );
    const v = await verifyRepomd(path.join(tmp.path, 'v1'), repoDir, path.join(repoDir, KEY_FILE));
    expect(v.exitCode, v.stderr).toBe(0);
    expect(v.stderr).toMatch(/Good signature from "Packaging Test/);
  });

  it('leaves no gpg-agent running for the GNUPGHOME', async () => {
    expect(await hasAgent(key.home)).toBe(false);
  });

  it('dnf installs from it with repo_gpgcheck and gpgcheck on', async () => {
    const work = path.join(tmp.path, 'dnf-ok');
    const r = await dnfInstall(work, repoDir, path.join(repoDir, KEY_FILE), ['sig-app']);
    expect(r.exitCode, r.stderr).toBe(0);
    const names = (await installed(work))
      .split('\n')
      .filter((l) => l !== '')
      .sort();
    // dnf imported the repo key into the installroot's rpmdb (gpg-pubkey-<keyid>).
    expect(names).toEqual([
      expect.stringMatching(/^gpg-pubkey-[0-9a-f]{8}$/),
      'sig-app-1.0',
      'sig-lib-2.0',
    ]);
  });

  it('dnf refuses the repo when repomd.xml is changed after signing', async () => {
    const tampered = path.join(tmp.path, 'tampered');
    await cp(repoDir, tampered, { recursive: true });
    const repomd = path.join(tampered, 'repodata', 'repomd.xml');
    const text = await readFile(repomd, 'utf8');
    await writeFile(
      repomd,
      text.replace(`<revision>${EPOCH}</revision>`, `<revision>${EPOCH + 1}</revision>`),
    );
    expect(await readFile(repomd, 'utf8')).not.toBe(text);
    const v = await verifyRepomd(
      path.join(tmp.path, 'v2'),
      tampered,
      path.join(tampered, KEY_FILE),
    );
    expect(v.exitCode).not.toBe(0);
    const work = path.join(tmp.path, 'dnf-tampered');
    const r = await dnfInstall(work, tampered, path.join(tampered, KEY_FILE), ['sig-app']);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/repomd\.xml GPG signature verification error/);
  });
});

describe.skipIf(missingTools(...TOOLS).length > 0)(
  'npm run build -- packaging with RPM_SIGN_KEY',
  () => {
    let tmp: TempDir;
    let key: TestKey;
    let ws = '';

    beforeAll(async () => {
      tmp = await makeTempDir('mk8s-pkg-sign-cli-');
      await chmod(tmp.path, 0o755);
      key = await makeGpgKey(tmp.path);
      await key.stop();
      ws = path.join(tmp.path, 'ws');
      const spec = path.join(ws, 'packages-specs', 'signed-built');
      await packagingWorkspace(ws, { packages: [{ name: 'signed-built' }] });
      await writeFile(
        path.join(ws, '.env'),
        `RPM_SIGN_KEY=${key.keyName}\nGNUPGHOME=${key.home}\n`,
      );
      await writeFile(path.join(spec, 'signed-built.spec'), SPEC);
      await writeFile(path.join(spec, 'hello.txt'), 'local source\n');
    });

    afterAll(async () => {
      await key.stop();
      await tmp.cleanup();
    });

    it('signs the built RPMs and the repodata, exports the key, and leaves no gpg-agent', async () => {
      const r = await runPackagingCli(ws, ['packaging'], { console: true });
      expect(r.stdout, r.stderr).toMatch(/build ok/);
      expect(await hasAgent(key.home)).toBe(false);

      const repoDir = path.join(ws, '_build', 'root', 'packages', 'redhat', 'metalk8s-scality-el7');
      const keyFile = path.join(repoDir, 'RPM-GPG-KEY-metalk8s-scality-7');
      expect((await readdir(repoDir)).sort()).toEqual([
        'RPM-GPG-KEY-metalk8s-scality-7',
        'noarch',
        'repodata',
      ]);
      const v = await verifyRepomd(path.join(tmp.path, 'v'), repoDir, keyFile);
      expect(v.exitCode, v.stderr).toBe(0);

      const rpm = path.join(repoDir, 'noarch', 'signed-built-1.0-1.el7.noarch.rpm');
      const sig = await checksig(path.join(tmp.path, 'rpmdb'), keyFile, [rpm]);
      expect(sig.exitCode, sig.stdout).toBe(0);
      expect(sig.stdout).toMatch(/digests signatures OK/);
      const unsignedDb = path.join(tmp.path, 'rpmdb-empty');
      await mkdir(unsignedDb, { recursive: true });
      const nokey = await execDirect(['rpmkeys', '--dbpath', unsignedDb, '--checksig', rpm], {
        reject: false,
      });
      expect(nokey.stdout).toMatch(/SIGNATURES NOT OK/); // signed, by a key the empty db lacks

      const work = path.join(tmp.path, 'dnf');
      const install = await dnfInstall(work, repoDir, keyFile, ['signed-built']);
      expect(install.exitCode, install.stderr).toBe(0);
      expect(await installed(work)).toContain('signed-built-1.0');
    });
  },
);
