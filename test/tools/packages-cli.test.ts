/**
 * `npm run build -- packaging` with the real CLI in a workspace: a built spec (local and
 * remote sources) and one upstream repo served by nginx on 127.0.0.1 (SOURCES=upstream).
 */
import { chmod, readdir, readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execDirect } from '../../buildchain/engine/exec/run-command.ts';
import { dnfInstall } from '../helpers/dnf.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { runCliHere } from '../helpers/run-cli.ts';
import { startTestNginx, stopAll } from '../helpers/servers.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import {
  buildTestRpm,
  makeRepo,
  PACKAGING_TASKS_MODULE,
  packagingWorkspace,
  runPackagingCli,
} from './packages-fixtures.ts';

const REPO = path.resolve(import.meta.dirname, '../..');

interface BuildEvent {
  readonly event?: string;
  readonly task?: string;
  readonly reason?: string;
}

const SPEC = (release: string) => `Name: hello-built
Version: 1.0
Release: ${release}%{?dist}
Summary: built by the buildchain
License: MIT
BuildArch: noarch
Source0: hello.txt
Source1: http://files.example.invalid/remote.txt

%description
Test.

%install
mkdir -p %{buildroot}/usr/share/hello-built
install -m 644 %{SOURCE0} %{SOURCE1} %{buildroot}/usr/share/hello-built/

%files
/usr/share/hello-built/hello.txt
/usr/share/hello-built/remote.txt
`;

describe.skipIf(
  missingTools('rpmbuild', 'rpmspec', 'rpm', 'createrepo_c', 'dnf', 'nginx').length > 0,
)('npm run build -- packaging', () => {
  let tmp: TempDir;
  let ws = '';

  async function build(
    ...args: string[]
  ): Promise<{ code: number; events: BuildEvent[]; stderr: string }> {
    const r = await runPackagingCli(ws, args);
    const events = r.events as unknown as BuildEvent[];
    return { code: r.code ?? -1, events, stderr: r.stderr };
  }
  const ran = (events: BuildEvent[]) =>
    events
      .filter((e) => e.event === 'done')
      .map((e) => e.task ?? '')
      .sort();

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-pkg-cli-');
    await chmod(tmp.path, 0o755);
    const srv = path.join(tmp.path, 'srv');
    await makeRepo(path.join(srv, 'main'), [
      await buildTestRpm(path.join(tmp.path, 'b'), {
        name: 'hello-app',
        version: '1.0',
        requires: ['hello-lib'],
      }),
      await buildTestRpm(path.join(tmp.path, 'b'), { name: 'hello-lib', version: '3.1' }),
    ]);
    await writeFile(path.join(srv, 'remote.txt'), 'remote source\n');
    await execDirect(['chmod', '-R', 'a+rX', srv]);
    const nginx = await startTestNginx({
      dir: path.join(tmp.path, 'nginx'),
      serverBody: `root ${srv};`,
    });
    const base = `http://${nginx.address}`;
    ws = path.join(tmp.path, 'ws');
    await packagingWorkspace(ws, {
      repos: { main: `${base}/main/` },
      packages: [{ name: 'hello-built' }, { name: 'hello-app', repo: 'main' }],
    });
    const spec = path.join(ws, 'packages-specs', 'hello-built');
    await writeFile(path.join(spec, 'hello-built.spec'), SPEC('1'));
    await writeFile(path.join(spec, 'hello.txt'), 'local source\n');
    const sha = createHash('sha256').update('remote source\n').digest('hex');
    await writeFile(
      path.join(spec, 'sources.yaml'),
      `files:\n  - { name: remote.txt, url: "${base}/remote.txt", sha256: ${sha} }\n`,
    );
  });

  afterAll(async () => {
    await stopAll();
    await tmp.cleanup();
  });

  const repos = () => path.join(ws, '_build', 'root', 'packages', 'redhat');

  it('builds, downloads and assembles the repos; a rerun does nothing', async () => {
    const first = await build('packaging');
    expect(first.code, first.stderr).toBe(0);
    expect(ran(first.events)).toEqual([
      'packaging:closure',
      'packaging:download',
      'packaging:repo:metalk8s-main-el7',
      'packaging:repo:metalk8s-scality-el7',
      'packaging:rpm:hello-built',
      'packaging:source:hello-built',
      'packaging:srpm:hello-built',
    ]);
    expect((await readdir(path.join(repos(), 'metalk8s-main-el7'))).sort()).toEqual([
      'hello-app-1.0-1.noarch.rpm',
      'hello-lib-3.1-1.noarch.rpm',
      'repodata',
    ]);
    expect(await readdir(path.join(repos(), 'metalk8s-scality-el7', 'noarch'))).toEqual([
      'hello-built-1.0-1.el7.noarch.rpm',
    ]);
    expect(
      await readFile(path.join(ws, 'packages-specs', 'locks', 'redhat-7.lock.json'), 'utf8'),
    ).toContain('"hello-lib"');
    const second = await build('packaging');
    expect(second.code, second.stderr).toBe(0);
    expect(ran(second.events)).toEqual([]);
  });

  it('rebuilds only the changed package and its repo; the old RPM does not stay', async () => {
    await writeFile(path.join(ws, 'packages-specs', 'hello-built', 'hello-built.spec'), SPEC('2'));
    const r = await build('packaging');
    expect(r.code, r.stderr).toBe(0);
    // The download does not run again: the new release requires nothing new.
    expect(ran(r.events)).toEqual([
      'packaging:closure',
      'packaging:repo:metalk8s-scality-el7',
      'packaging:rpm:hello-built',
      'packaging:srpm:hello-built',
    ]);
    expect(await readdir(path.join(repos(), 'metalk8s-scality-el7', 'noarch'))).toEqual([
      'hello-built-1.0-2.el7.noarch.rpm',
    ]);
  });

  it('selects tasks by wildcard', async () => {
    const r = await build('packaging:*:hello-*');
    expect(r.code, r.stderr).toBe(0);
    const seen = [...new Set(r.events.map((e) => e.task).filter((t) => t !== undefined))].sort();
    expect(seen).toEqual([
      'packaging:rpm:hello-built',
      'packaging:source:hello-built',
      'packaging:srpm:hello-built',
    ]);
  });

  it('removes the repo of an upstream repo dropped from the list', async () => {
    const list = path.join(ws, 'packages-specs', 'redhat-7.yaml');
    const text = await readFile(list, 'utf8');
    await writeFile(
      list,
      text
        .replace(/ {2}- \{ name: main,[^\n]*\n/, '')
        .replace('repos:\n', 'repos: []\n')
        .replace('  - { name: hello-app, repo: main }\n', ''),
    );
    const r = await build('packaging');
    expect(r.code, r.stderr).toBe(0);
    expect(ran(r.events)).toContain('packaging:prune');
    expect(await readdir(repos())).toEqual(['metalk8s-scality-el7']);
    await writeFile(list, text);
  });
});

/**
 * The repository's own content (packages-specs/, the real specs and package list) with the
 * default SOURCES=embedded: stand-in upstream RPMs, keys and calico binaries from the mirror.
 */
describe.skipIf(
  missingTools(
    'rpmbuild',
    'rpmspec',
    'rpm',
    'createrepo_c',
    'dnf',
    'nginx',
    'docker-registry',
    'gpg',
    'rpmsign',
  ).length > 0,
)('npm run build -- packaging (repository content, embedded mirror)', () => {
  let tmp: TempDir;

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-pkg-real-');
    for (const f of ['packages-specs', 'images', '.env.example', 'VERSION']) {
      await execDirect(['cp', '-r', path.join(REPO, f), path.join(tmp.path, f)], { reject: false });
    }
    // The embedded mirror keeps its lock under BUILD_ROOT; drop any committed upstream lock.
    await execDirect(['rm', '-rf', path.join(tmp.path, 'packages-specs', 'locks')]);
  });

  afterAll(async () => {
    await tmp.cleanup();
  });

  it('produces every ISO repo, and dnf installs the built and downloaded packages from them', async () => {
    const r = await runCliHere(tmp.path, ['--tasks-module', PACKAGING_TASKS_MODULE, 'packaging'], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/root',
        SOURCES: 'embedded',
      },
      console: true,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/build ok/);
    const repos = path.join(tmp.path, '_build', 'root', 'packages', 'redhat');
    expect((await readdir(repos)).sort()).toEqual(
      ['base', 'epel', 'extras', 'kubernetes', 'saltstack', 'scality', 'updates'].map(
        (n) => `metalk8s-${n}-el7`,
      ),
    );
    expect(await readdir(path.join(repos, 'metalk8s-scality-el7', 'x86_64'))).toEqual([
      'calico-cni-plugin-3.8.2-1.el7.x86_64.rpm',
    ]);
    expect(await readdir(path.join(repos, 'metalk8s-scality-el7', 'noarch'))).toEqual([
      'metalk8s-sosreport-2.4-1.el7.noarch.rpm',
    ]);
    const k8s = path.join(repos, 'metalk8s-kubernetes-el7');
    const root = path.join(tmp.path, 'installroot');
    const install = await dnfInstall(root, ['calico-cni-plugin', 'kubelet-1.15.3'], {
      repos: [
        { name: 'scality', dir: path.join(repos, 'metalk8s-scality-el7') },
        {
          name: 'kubernetes',
          dir: k8s,
          keys: ['7_1', '7_2'].map((n) => `${k8s}/RPM-GPG-KEY-metalk8s-kubernetes-${n}`),
        },
      ],
    });
    expect(install.exitCode, install.stderr).toBe(0);
    const q = await execDirect(['rpm', '--root', root, '-qa', '--qf', '%{NAME}-%{VERSION}\n']);
    expect(q.stdout).toContain('calico-cni-plugin-3.8.2');
    expect(q.stdout).toContain('kubelet-1.15.3');
    expect(q.stdout).toContain('kubernetes-cni-'); // calico's dependency, from the kubernetes repo
  });
});
