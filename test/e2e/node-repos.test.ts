/**
 * The ISO's yum repositories as a MetalK8s node enables them (salt/metalk8s/repo/configured.sls:
 * one repo per `packages/redhat/<dir>/`, gpgcheck=1 with its `RPM-GPG-KEY-*` files when it has
 * some), in a copy of the repository with the default embedded sources:
 * - an unsigned `packaging` build: `dnf repoclosure` passes and every package of every repo
 *   installs into a fresh `--installroot`;
 * - a signed `iso` build (RPM_SIGN_KEY, a throwaway key), read back from the ISO: every repo has
 *   `repodata/repomd.xml.asc` and ships the public key, repoclosure passes with
 *   `repo_gpgcheck=1`, every package installs with `gpgcheck=1` and `repo_gpgcheck=1`, and
 *   versions.json records metalk8s-sosreport's version.
 */
import { chmod, mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execDirect } from '../../buildchain/engine/exec/run-command.ts';
import { extractIso } from '../../buildchain/media/iso/read-iso.ts';
import { dnfArgs, dnfInstall, type DnfRepo } from '../helpers/dnf.ts';
import { shellEnv, spawnCliIn } from '../helpers/run-cli.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { copyRepository } from '../helpers/workspace.ts';

const missing = missingTools(
  'xorriso',
  'bsdtar',
  'skopeo',
  'nginx',
  'docker-registry',
  'dnf',
  'createrepo_c',
  'rpmbuild',
  'rpmsign',
  'rpm',
  'gpg',
  'gpgconf',
  'pgrep',
  'buildah',
);

/** A repo as the node enables it (gpgcheck with its keys when it has some). */
type NodeRepo = DnfRepo & { readonly keys: readonly string[] };

async function nodeView(packagesRedhat: string): Promise<NodeRepo[]> {
  const out: NodeRepo[] = [];
  for (const name of (await readdir(packagesRedhat)).sort()) {
    const dir = path.join(packagesRedhat, name);
    const keys = (await readdir(dir))
      .filter((f) => f.startsWith('RPM-GPG-KEY-'))
      .sort()
      .map((f) => path.join(dir, f));
    out.push({ name, dir, keys });
  }
  return out;
}

/** repoclosure, then an install of every package of every repo into a fresh installroot. */
async function checkAsNode(
  work: string,
  repos: readonly NodeRepo[],
  repoGpgcheck: boolean,
): Promise<{ closure: string; installed: string[]; keys: number; names: string[] }> {
  await mkdir(path.join(work, 'log'), { recursive: true });
  const dnf = { repos, repoGpgcheck, stateDir: work };
  const base = dnfArgs(dnf);
  const closure = await execDirect([...base, 'repoclosure'], { reject: false });
  expect(closure.exitCode, closure.stdout + closure.stderr).toBe(0);
  const q = await execDirect([...base, 'repoquery', '--qf', '%{name}']);
  const names = [...new Set(q.stdout.split('\n').filter((l) => l !== ''))].sort();
  const root = path.join(work, 'root');
  await mkdir(path.join(root, 'var/log'), { recursive: true });
  const install = await dnfInstall(root, names, dnf);
  expect(install.exitCode, install.stdout + install.stderr).toBe(0);
  // dnf started a gpg-agent per repo keyring (repo_gpgcheck): stop them.
  const cache = path.join(work, 'cache');
  for (const d of await readdir(cache)) {
    await execDirect(
      ['gpgconf', '--homedir', path.join(cache, d, 'pubring'), '--kill', 'gpg-agent'],
      {
        reject: false,
      },
    );
  }
  const qa = await execDirect(['rpm', '--root', root, '-qa', '--qf', '%{NAME}\n']);
  const all = qa.stdout.split('\n').filter((l) => l !== '');
  return {
    closure: closure.stdout,
    // gpg-pubkey entries are the keys dnf imported to check the signatures.
    installed: all.filter((n) => n !== 'gpg-pubkey'),
    keys: all.filter((n) => n === 'gpg-pubkey').length,
    names,
  };
}

describe.skipIf(missing.length > 0)('the ISO repos as a node enables them', () => {
  let tmp: TempDir;
  let repo = '';
  let gnupg = '';
  const KEY = 'Node Repos Test <node-repos@example.invalid>';

  // The clone's own CLI, in its own process (as `npm run build` in that directory).
  const build = (env: Record<string, string>, ...args: string[]) =>
    spawnCliIn(repo, args, {
      env: shellEnv({ SOURCE_DATE_EPOCH: '1700000000', ...env }),
      main: path.join(repo, 'buildchain/cli/bin.ts'),
    }).done;

  beforeAll(async () => {
    tmp = await makeTempDir('node-repos-e2e-');
    await chmod(tmp.path, 0o755);
    repo = path.join(tmp.path, 'repo');
    await copyRepository(repo);
    gnupg = path.join(tmp.path, 'gnupg');
    await mkdir(gnupg, { recursive: true, mode: 0o700 });
    await execDirect(
      [
        'gpg',
        '--batch',
        '--pinentry-mode',
        'loopback',
        '--passphrase',
        '',
        '--quick-gen-key',
        KEY,
        'rsa2048',
        'sign',
        'never',
      ],
      { env: { GNUPGHOME: gnupg } },
    );
  }, 120_000);
  afterAll(async () => {
    await execDirect(['gpgconf', '--homedir', gnupg, '--kill', 'gpg-agent'], { reject: false });
    await tmp.cleanup();
  });

  it('unsigned: the repos are closed and every package installs with gpgcheck', async () => {
    const r = await build({}, '-n', '2', 'packaging');
    expect(r.code, r.stdout.slice(-3000) + r.stderr).toBe(0);
    const repos = await nodeView(path.join(repo, '_build/root/packages/redhat'));
    expect(repos.map((x) => x.name)).toContain('metalk8s-scality-el7');
    // As on a node: the locally built repo ships no key, so it is the only one without gpgcheck.
    expect(repos.filter((x) => x.keys.length === 0).map((x) => x.name)).toEqual([
      'metalk8s-scality-el7',
    ]);
    const node = await checkAsNode(path.join(tmp.path, 'node-unsigned'), repos, false);
    // What metalk8s-sosreport requires came with the download (python is in no list).
    expect(node.names).toEqual(
      expect.arrayContaining(['metalk8s-sosreport', 'sos', 'python', 'calico-cni-plugin']),
    );
    expect(node.installed.sort()).toEqual(node.names);
  }, 600_000);

  describe('signed ISO', () => {
    let tree = '';

    beforeAll(async () => {
      const r = await build({ RPM_SIGN_KEY: KEY, GNUPGHOME: gnupg }, '-n', '2', 'iso');
      expect(r.code, r.stdout.slice(-3000) + r.stderr).toBe(0);
      tree = path.join(tmp.path, 'tree');
      await extractIso(path.join(repo, '_build/metalk8s.iso'), tree);
    }, 900_000);

    it('every repo carries repomd.xml.asc and the public key, which verifies it', async () => {
      const repos = await nodeView(path.join(tree, 'packages/redhat'));
      expect(repos.length).toBe(7);
      const exported = await execDirect(['gpg', '--armor', '--export', KEY], {
        env: { GNUPGHOME: gnupg },
      });
      for (const r of repos) {
        const own = r.keys.find(
          (k) => path.basename(k) === `RPM-GPG-KEY-${r.name.replace(/-el7$/, '')}-7`,
        );
        expect(own, `${r.name} ships the signing key`).toBeDefined();
        expect(await readFile(own ?? '', 'utf8')).toBe(exported.stdout + '\n');
        const home = path.join(tmp.path, 'verify', r.name);
        await mkdir(home, { recursive: true, mode: 0o700 });
        await execDirect(['gpg', '--batch', '--import', own ?? ''], { env: { GNUPGHOME: home } });
        const repomd = path.join(r.dir, 'repodata/repomd.xml');
        const v = await execDirect(['gpg', '--batch', '--verify', `${repomd}.asc`, repomd], {
          env: { GNUPGHOME: home },
          reject: false,
        });
        await execDirect(['gpgconf', '--homedir', home, '--kill', 'gpg-agent'], { reject: false });
        expect(v.exitCode, `${r.name}: ${v.stderr}`).toBe(0);
      }
    });

    it('repoclosure passes and every package installs with gpgcheck=1 and repo_gpgcheck=1', async () => {
      const repos = await nodeView(path.join(tree, 'packages/redhat'));
      expect(repos.every((r) => r.keys.length > 0)).toBe(true);
      const node = await checkAsNode(path.join(tmp.path, 'node-signed'), repos, true);
      expect(node.installed.sort()).toEqual(node.names);
      expect(node.installed).toContain('metalk8s-sosreport');
      // The stand-in upstream key and the build's signing key were imported and used.
      expect(node.keys).toBe(2);
    }, 300_000);

    it('versions.json records the version of metalk8s-sosreport', async () => {
      const doc = JSON.parse(
        await readFile(path.join(tree, 'salt/metalk8s/versions.json'), 'utf8'),
      ) as { packages: Record<string, { version: string | null }> };
      expect(doc.packages['metalk8s-sosreport']?.version).toBe('2.4-1.el7');
    });
  });

  it('writes the closure report of the build and leaves no gpg-agent running', async () => {
    const agents = await execDirect(['pgrep', '-f', `gpg-agent --homedir ${repo}/_build`], {
      reject: false,
    });
    expect(agents.stdout).toBe('');
    const report = JSON.parse(
      await readFile(path.join(repo, '_build/packages/redhat-7/closure.json'), 'utf8'),
    ) as { repoGpgcheck: boolean; repos: { name: string }[] };
    expect(report.repoGpgcheck).toBe(true);
    expect(report.repos).toHaveLength(7);
  });
});
