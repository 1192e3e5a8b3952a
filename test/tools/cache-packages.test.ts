/**
 * The build cache with the real packaging tasks (rpmbuild, createrepo_c, dnf): a runner builds
 * the SRPM, the RPM and the local repository and uploads them; another workspace at another
 * path restores all three from the cache (read mode) and gets the same bytes, without running
 * rpmbuild or createrepo. With an upstream repo (nginx on 127.0.0.1), the download, the
 * downloaded repos' metadata and the closure check are restored too: the RPMs come from the
 * cache once and are hard-linked into the repos, never fetched from the upstream again.
 */
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { walkTree } from '../../buildchain/lib/fs/walk.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { startTestNginx, stopAll } from '../helpers/servers.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import type { JsonEvent } from '../helpers/ndjson.ts';
import { startCacheRegistry, type CacheRegistry } from './cache-fixture.ts';
import {
  buildTestRpm,
  makeRepo,
  packagingWorkspace,
  runPackagingCli,
} from './packages-fixtures.ts';

/** The spec; with `remote`, a second source fetched from that URL (pinned in sources.yaml). */
const spec = (remote?: string): string => `Name: hello-cached
Version: 1.0
Release: 1%{?dist}
Summary: built once, restored elsewhere
License: MIT
BuildArch: noarch
Source0: hello.txt
${remote === undefined ? '' : `Source1: ${remote}\n`}
%description
Test.

%install
mkdir -p %{buildroot}/usr/share/hello-cached
install -m 644 %{SOURCE0} %{buildroot}/usr/share/hello-cached/

%files
/usr/share/hello-cached/hello.txt
`;

const missing = missingTools(
  'docker-registry',
  'htpasswd',
  'rpmbuild',
  'rpmspec',
  'rpm',
  'createrepo_c',
  'dnf',
  'nginx',
);

let tmp: TempDir;
let reg: CacheRegistry;

/**
 * A workspace with one built package and no upstream repository; or the one at `upstream`,
 * which also serves a remote source of the package (`files/extra.txt`, whose sha256 is given).
 */
async function workspace(
  dir: string,
  upstream?: { url: string; extraSha256: string },
): Promise<string> {
  await packagingWorkspace(
    dir,
    upstream === undefined
      ? { packages: [{ name: 'hello-cached' }] }
      : {
          repos: { main: `${upstream.url}/main/` },
          packages: [{ name: 'hello-cached' }, { name: 'hello-app', repo: 'main' }],
        },
  );
  const specDir = path.join(dir, 'packages-specs', 'hello-cached');
  const remote = upstream === undefined ? undefined : `${upstream.url}/files/extra.txt`;
  await writeFile(path.join(specDir, 'hello-cached.spec'), spec(remote));
  await writeFile(path.join(specDir, 'hello.txt'), 'cached source\n');
  if (upstream !== undefined && remote !== undefined)
    await writeFile(
      path.join(specDir, 'sources.yaml'),
      `files:\n  - { name: extra.txt, url: "${remote}", sha256: ${upstream.extraSha256} }\n`,
    );
  return dir;
}

async function build(
  ws: string,
  mode: 'read' | 'readwrite',
  target = 'packaging:repo:metalk8s-scality-el7',
): Promise<JsonEvent[]> {
  const r = await runPackagingCli(ws, [target], { env: reg.env('ci/packages', mode) });
  expect(r.code, r.stderr + r.stdout).toBe(0);
  return r.events;
}

/** The tasks a build restored from the cache, sorted. */
function restoredTasks(events: readonly JsonEvent[]): string[] {
  return events
    .filter((e) => e.event === 'cached')
    .map((e) => String(e.task))
    .sort();
}

/** Every file under the build's RPM and repo outputs, with its bytes. */
async function outputs(ws: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const dir of [
    '_build/packages/redhat-7/rpm',
    '_build/packages/redhat-7/sources',
    '_build/packages/redhat-7/cache',
    '_build/root/packages/redhat',
  ]) {
    for (const e of await walkTree(path.join(ws, dir), { missingOk: true }))
      if (e.kind === 'file')
        out.set(`${dir}/${e.rel}`, (await readFile(e.path)).toString('base64'));
  }
  const closure = await readFile(path.join(ws, '_build/packages/redhat-7/closure.json'), 'utf8')
    .then((t) => t)
    .catch(() => undefined);
  if (closure !== undefined) out.set('closure.json', closure);
  return out;
}

describe.skipIf(missing.length > 0)('build cache: real RPM builds and repo metadata', () => {
  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-cache-pkg-');
    reg = await startCacheRegistry(tmp.path);
  }, 30_000);
  afterAll(async () => {
    await stopAll();
    await tmp.cleanup();
  });

  it('a second workspace restores the SRPM, RPM and local repo: same bytes, no rpmbuild run', async () => {
    const a = await workspace(path.join(tmp.path, 'runner-a', 'metalk8s'));
    const first = await build(a, 'readwrite');
    const started = first.filter((e) => e.event === 'start').map((e) => e.task);
    expect(started).toEqual(
      expect.arrayContaining([
        'packaging:srpm:hello-cached',
        'packaging:rpm:hello-cached',
        'packaging:repo:metalk8s-scality-el7',
      ]),
    );
    const stats = first.find((e) => e.event === 'cache-stats');
    expect(stats).toMatchObject({ tasksSaved: 3, warnings: 0 });

    const b = await workspace(path.join(tmp.path, 'elsewhere', 'runner-b'));
    const second = await build(b, 'read');
    expect(restoredTasks(second)).toEqual([
      'packaging:repo:metalk8s-scality-el7',
      'packaging:rpm:hello-cached',
      'packaging:srpm:hello-cached',
    ]);
    expect(second.filter((e) => e.event === 'start').map((e) => e.task)).not.toContain(
      'packaging:rpm:hello-cached',
    );
    const mine = await outputs(a);
    const theirs = await outputs(b);
    expect([...mine.keys()].some((k) => k.endsWith('.noarch.rpm'))).toBe(true);
    expect([...mine.keys()].some((k) => k.endsWith('repomd.xml'))).toBe(true);
    expect(theirs).toEqual(mine);
  });

  it('restores the download, every repo and the closure verdict: RPMs linked, none fetched upstream', async () => {
    // The upstream: one repo with two RPMs, on nginx.
    const srv = path.join(tmp.path, 'srv');
    const rpms = [
      await buildTestRpm(path.join(tmp.path, 'b'), {
        name: 'hello-app',
        version: '1.0',
        requires: ['hello-lib'],
      }),
      await buildTestRpm(path.join(tmp.path, 'b'), { name: 'hello-lib', version: '3.1' }),
    ];
    await makeRepo(path.join(srv, 'main'), rpms);
    // A remote source of the built package, pinned by its sha256.
    const extra = Buffer.from('a remote source\n');
    await mkdir(path.join(srv, 'files'));
    await writeFile(path.join(srv, 'files', 'extra.txt'), extra);
    const extraSha256 = createHash('sha256').update(extra).digest('hex');
    await chmod(tmp.path, 0o755);
    const nginx = await startTestNginx({
      dir: path.join(tmp.path, 'nginx'),
      serverBody: `root ${srv};`,
    });
    const upstream = { url: `http://${nginx.address}`, extraSha256 };

    const a = await workspace(path.join(tmp.path, 'up-a', 'metalk8s'), upstream);
    const first = await build(a, 'readwrite', 'packaging');
    const ranA = first.filter((e) => e.event === 'start').map((e) => e.task);
    expect(ranA).toEqual(
      expect.arrayContaining([
        'packaging:download',
        'packaging:repo:metalk8s-main-el7',
        'packaging:closure',
        'packaging:source:hello-cached',
      ]),
    );
    expect(first.find((e) => e.event === 'cache-stats')).toMatchObject({ warnings: 0 });

    // The upstream keeps its metadata but loses its RPMs and the remote source: B cannot
    // fetch them from there.
    for (const f of rpms) await rm(path.join(srv, 'main', path.basename(f)));
    await rm(path.join(srv, 'files', 'extra.txt'));

    const b = await workspace(path.join(tmp.path, 'up-elsewhere', 'runner-b'), upstream);
    const second = await build(b, 'read', 'packaging');
    expect(second.filter((e) => e.event === 'start').map((e) => e.task)).toEqual([]);
    expect(restoredTasks(second)).toEqual([
      'packaging:closure',
      'packaging:download',
      'packaging:repo:metalk8s-main-el7',
      'packaging:repo:metalk8s-scality-el7',
      'packaging:rpm:hello-cached',
      'packaging:source:hello-cached',
      'packaging:srpm:hello-cached',
    ]);
    expect(second.find((e) => e.event === 'cache-stats')).toMatchObject({ warnings: 0 });
    expect(await outputs(b)).toEqual(await outputs(a));
    expect(
      await readFile(path.join(b, '_build/packages/redhat-7/sources/hello-cached/extra.txt')),
    ).toEqual(extra);

    // The repos' RPMs are hard links of the download's and the RPM build's outputs.
    const repo = path.join(b, '_build/root/packages/redhat');
    const cached = path.join(b, '_build/packages/redhat-7/cache/main');
    for (const f of rpms) {
      const name = path.basename(f);
      expect((await stat(path.join(repo, 'metalk8s-main-el7', name))).ino).toBe(
        (await stat(path.join(cached, name))).ino,
      );
    }
    // Restored like a run: nothing to do next time.
    const again = await build(b, 'read', 'packaging');
    expect(again.filter((e) => e.event === 'start' || e.event === 'cached')).toEqual([]);
  }, 120_000);
});
