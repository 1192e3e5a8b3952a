/**
 * The repository's packaging content (packages-specs/) and the task graph built from it; and a
 * second OS family given as just another list.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BuildConfig } from '../../buildchain/config/config.ts';
import { parseSettings } from '../../buildchain/config/settings.ts';
import { unusedSources, withEnv } from '../helpers/config.ts';
import type { PackageList } from '../../buildchain/config/content-types.ts';
import { loadPackageList } from '../../buildchain/config/packages.ts';
import type { TaskDefinition } from '../../buildchain/engine/task.ts';
import { loadSpecSources } from '../../buildchain/tasks/packages/spec-sources.ts';
import { createPackagingTasks, packagingRepoDirs } from '../../buildchain/tasks/packages/tasks.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

const config: BuildConfig = {
  root: ROOT,
  buildRoot: '/b',
  isoRoot: '/b/root',
  projectName: 'MetalK8s',
  sources: 'upstream',
  env: { SOURCE_DATE_EPOCH: '1700000000' },
  settings: parseSettings({ SOURCE_DATE_EPOCH: '1700000000' }),
  tools: {},
};

const sources = unusedSources('upstream');

const byName = (tasks: TaskDefinition[]) => new Map(tasks.map((t) => [t.name, t]));

describe('packages-specs content', () => {
  it('lists the MetalK8s 2.4 repos, pins and built packages', async () => {
    const list = await loadPackageList(ROOT);
    expect(list.repos.map((r) => r.isoName)).toEqual(
      ['base', 'extras', 'updates', 'epel', 'kubernetes', 'saltstack'].map(
        (n) => `metalk8s-${n}-el7`,
      ),
    );
    expect(list.repos.every((r) => r.gpgKeys.length > 0 && !r.baseUrl.includes('$'))).toBe(true);
    const pins = list.packages
      .filter((p) => p.version !== undefined)
      .map((p) => `${p.name}-${p.version ?? ''}`);
    expect(pins).toEqual([
      'calico-cni-plugin-3.8.2',
      'kubectl-1.15.3',
      'kubelet-1.15.3',
      'salt-minion-2018.3.4',
    ]);
    expect(list.packages.filter((p) => p.built).map((p) => p.name)).toEqual([
      'calico-cni-plugin',
      'metalk8s-sosreport',
    ]);
  });

  it('pins the calico 3.8.2 release binaries by sha256', () => {
    const s = loadSpecSources(path.join(ROOT, 'packages-specs', 'calico-cni-plugin'));
    expect(s.map((x) => [x.name, x.sha256])).toEqual([
      ['calico-amd64', '4675d8d195c0c30467161b459d99cbd0dd715496d4fadea1010e9deb7880f18b'],
      ['calico-ipam-amd64', 'ee2943609530e1ad429cae5315590671594b6dd795db259a81b919995ad9999e'],
    ]);
  });

  it('creates the task graph: per-spec chain, one download, one task per ISO repo, the group', () => {
    const tasks = byName(createPackagingTasks(config, sources));
    expect([...tasks.keys()].sort()).toEqual([
      'packaging',
      'packaging:closure',
      'packaging:download',
      'packaging:prune',
      ...['base', 'epel', 'extras', 'kubernetes', 'saltstack', 'scality', 'updates'].map(
        (n) => `packaging:repo:metalk8s-${n}-el7`,
      ),
      'packaging:rpm:calico-cni-plugin',
      'packaging:rpm:metalk8s-sosreport',
      'packaging:source:calico-cni-plugin',
      'packaging:srpm:calico-cni-plugin',
      'packaging:srpm:metalk8s-sosreport',
    ]);
    // Dependencies through files: source → srpm → rpm → scality repo; download → other repos.
    expect(tasks.get('packaging:srpm:calico-cni-plugin')?.fileDeps).toContain(
      '/b/packages/redhat-7/sources/calico-cni-plugin/calico-amd64',
    );
    expect(tasks.get('packaging:rpm:calico-cni-plugin')?.fileDeps).toEqual([
      '/b/packages/redhat-7/srpm/calico-cni-plugin.src.rpm',
    ]);
    expect(tasks.get('packaging:repo:metalk8s-scality-el7')?.fileDeps).toEqual([
      '/b/packages/redhat-7/rpm/calico-cni-plugin.json',
      '/b/packages/redhat-7/rpm/metalk8s-sosreport.json',
    ]);
    expect(tasks.get('packaging:download')?.targets).toContain(
      '/b/packages/redhat-7/resolved/metalk8s-epel-el7.json',
    );
    expect(tasks.get('packaging:repo:metalk8s-epel-el7')?.fileDeps).toEqual([
      '/b/packages/redhat-7/resolved/metalk8s-epel-el7.json',
    ]);
    expect(tasks.get('packaging:repo:metalk8s-epel-el7')?.targets).toEqual([
      '/b/root/packages/redhat/metalk8s-epel-el7',
    ]);
  });

  it('puts no ephemeral value in labels or config, and changes the label with the epoch', () => {
    const labels = (c: BuildConfig) =>
      createPackagingTasks(c, sources).flatMap((t) =>
        (t.actions ?? []).map((a) => (a.kind === 'function' ? a.label : a.argv.join(' '))),
      );
    expect(labels(config)).toEqual(labels(config));
    const later = labels(withEnv(config, { SOURCE_DATE_EPOCH: '1700000001' }));
    expect(later).not.toEqual(labels(config));
  });

  it('rejects an unknown RPM_BUILDER naming the setting', () => {
    expect(() =>
      createPackagingTasks(withEnv(config, { ...config.env, RPM_BUILDER: 'mock' }), sources),
    ).toThrow(/RPM_BUILDER='mock'/);
  });

  it('builds another OS family from just another list, in its own namespace', () => {
    const el8: PackageList = {
      osFamily: 'redhat-8',
      releasever: '8',
      distTag: 'el8',
      repos: [
        {
          name: 'appstream',
          baseUrl: 'https://m.example/8/AppStream/x86_64/os/',
          gpgKeys: [],
          isoName: 'metalk8s-appstream-el8',
        },
      ],
      packages: [{ name: 'socat', repo: '', built: false }],
    };
    const tasks = createPackagingTasks(config, sources, { list: el8 });
    expect(tasks.map((t) => t.name).sort()).toEqual([
      'packaging:redhat-8',
      'packaging:redhat-8:closure',
      'packaging:redhat-8:download',
      'packaging:redhat-8:prune',
      'packaging:repo:metalk8s-appstream-el8',
    ]);
    expect(packagingRepoDirs(config, el8)).toEqual([
      {
        repo: 'appstream',
        isoName: 'metalk8s-appstream-el8',
        dir: '/b/root/packages/redhat/metalk8s-appstream-el8',
        task: 'packaging:repo:metalk8s-appstream-el8',
      },
    ]);
  });
});
