import { describe, expect, it } from 'vitest';
import type { ImageEntry, PackageList } from '../../buildchain/config/content-types.ts';
import { planHash, planMirror, sourceUrlsOf } from '../../buildchain/sources/embedded/content.ts';
import { serveBanner, serveSettings } from '../../buildchain/sources/embedded/serve-info.ts';
import { webPathOf } from '../../buildchain/sources/embedded/web-paths.ts';

const images: ImageEntry[] = [
  {
    name: 'pause',
    version: '3.1',
    source: { registry: 'k8s.gcr.io', repository: 'pause' },
    ship: 'archive',
    platforms: 'linux/amd64',
  },
  {
    name: 'calico-node',
    version: 'v3.8.2',
    source: { registry: 'quay.io', repository: 'calico/node' },
    ship: 'dir',
    platforms: 'all',
  },
  {
    name: 'local',
    version: '1',
    ship: 'dir',
    platforms: 'linux/amd64',
    build: { context: 'images/local' },
  },
];

const list: PackageList = {
  osFamily: 'redhat-7',
  releasever: '7',
  basearch: 'x86_64',
  repos: [
    {
      name: 'base',
      baseUrl: 'http://mirror.centos.org/centos/$releasever/os/$basearch/',
      gpgKeys: ['http://mirror.centos.org/centos/RPM-GPG-KEY-CentOS-7'],
      isoName: 'metalk8s-base-el7',
    },
    {
      name: 'kubernetes',
      baseUrl: 'https://packages.example.com/yum/kubernetes-el7-$basearch',
      gpgKeys: [],
      isoName: 'metalk8s-kubernetes-el7',
    },
  ],
  packages: [
    { name: 'kubelet', version: '1.15.3', repo: 'kubernetes', built: false },
    { name: 'socat', repo: '', built: false },
    { name: 'calico-cni-plugin', version: '3.8.2', release: '1.el7', repo: 'scality', built: true },
  ],
};

const files = ['https://github.com/projectcalico/cni-plugin/releases/download/v3.8.2/calico-amd64'];

describe('planMirror', () => {
  const plan = planMirror(images, [list], files, { catalog: {} });

  it('plans one stand-in per remote image, sorted, keeping platforms', () => {
    expect(plan.images).toEqual([
      { registry: 'k8s.gcr.io', repository: 'pause', tag: '3.1', platforms: 'linux/amd64' },
      { registry: 'quay.io', repository: 'calico/node', tag: 'v3.8.2', platforms: 'all' },
    ]);
  });

  it('puts each downloaded package in its repo (default: the first repo) with pinned or default NVR', () => {
    expect(plan.repos.map((r) => [r.dir, r.rpms])).toEqual([
      ['base', [{ name: 'socat', version: '1.0.0', release: '1' }]],
      ['kubernetes', [{ name: 'kubelet', version: '1.15.3', release: '1' }]],
    ]);
    expect(plan.repos[0]?.baseUrls).toContain('http://mirror.centos.org/centos/7/os/x86_64');
    expect(plan.gpgKeys).toEqual(['http://mirror.centos.org/centos/RPM-GPG-KEY-CentOS-7']);
  });

  it('imitates upstream from the catalogue: versions and deps of listed packages, extra packages', () => {
    const withSos: PackageList = {
      ...list,
      packages: [
        ...list.packages,
        { name: 'sos', repo: '', built: false },
        { name: 'python', version: '2.7.9', repo: 'base', built: false },
      ],
    };
    const catalog = {
      base: [
        { name: 'sos', version: '3.7', release: '10.el7.centos', requires: ['python(abi) = 2.7'] },
        { name: 'python', version: '2.7.5', release: '86.el7', provides: ['python(abi) = 2.7'] },
        { name: 'libxml2', version: '2.9.1', release: '6.el7' },
      ],
      epel: [{ name: 'absent', version: '1', release: '1' }],
    };
    const base = planMirror(images, [withSos], files, { catalog }).repos.find(
      (r) => r.dir === 'base',
    );
    expect(base?.rpms).toEqual([
      { name: 'libxml2', version: '2.9.1', release: '6.el7' },
      // A pin wins over the catalogue's version; its dependencies stay.
      { name: 'python', version: '2.7.9', release: '1', provides: ['python(abi) = 2.7'] },
      { name: 'socat', version: '1.0.0', release: '1' },
      { name: 'sos', version: '3.7', release: '10.el7.centos', requires: ['python(abi) = 2.7'] },
    ]);
    // The default catalogue gives the CentOS 7 base what metalk8s-sosreport requires.
    const real = planMirror(images, [withSos], files).repos.find((r) => r.dir === 'base');
    expect(real?.rpms.find((r) => r.name === 'sos')?.version).toBe('3.7');
    expect(real?.rpms.some((r) => r.provides?.includes('python(abi) = 2.7'))).toBe(true);
  });

  it('hashes the same plan to the same stamp, and a changed list to another', () => {
    expect(planHash(planMirror(images, [list], files, { catalog: {} }), 'f')).toBe(
      planHash(plan, 'f'),
    );
    const bumped: PackageList = {
      ...list,
      packages: [{ name: 'kubelet', version: '1.15.4', repo: 'kubernetes', built: false }],
    };
    expect(planHash(planMirror(images, [bumped], files), 'f')).not.toBe(planHash(plan, 'f'));
    expect(planHash(plan, 'g')).not.toBe(planHash(plan, 'f'));
  });

  it('maps repo URLs under their base and other URLs under _files', () => {
    expect(
      webPathOf('http://mirror.centos.org/centos/7/os/x86_64/repodata/repomd.xml', plan.repos),
    ).toBe('base/repodata/repomd.xml');
    expect(webPathOf('http://mirror.centos.org/centos/7/os/x86_64/', plan.repos)).toBe('base/');
    expect(webPathOf('http://mirror.centos.org/centos/$releasever/os/$basearch', plan.repos)).toBe(
      'base/',
    );
    expect(webPathOf(files[0] ?? '', plan.repos)).toBe(
      '_files/github.com/projectcalico/cni-plugin/releases/download/v3.8.2/calico-amd64',
    );
  });

  it('prints the site settings that point another build at the mirror', () => {
    const s = serveSettings(plan, '127.0.0.1:5000', '127.0.0.1:8080');
    expect(s.REGISTRY_MIRRORS).toBe(
      'k8s.gcr.io=127.0.0.1:5000/k8s.gcr.io,quay.io=127.0.0.1:5000/quay.io',
    );
    expect(s.INSECURE_REGISTRIES).toBe('127.0.0.1:5000');
    expect(s.PACKAGE_MIRRORS.split(',')).toEqual([
      'http://mirror.centos.org/centos/7/os/x86_64=http://127.0.0.1:8080/base',
      'https://packages.example.com/yum/kubernetes-el7-x86_64=http://127.0.0.1:8080/kubernetes',
      'http://mirror.centos.org=http://127.0.0.1:8080/_files/mirror.centos.org',
      'https://github.com=http://127.0.0.1:8080/_files/github.com',
    ]);
    expect(serveBanner(plan, '127.0.0.1:5000', '127.0.0.1:8080').join('\n')).toContain(
      'SOURCES=site',
    );
  });
});

describe('sourceUrlsOf', () => {
  it('collects url fields at any depth, ignoring non-URLs', () => {
    expect(
      sourceUrlsOf({
        files: [{ name: 'a', url: 'https://x/a', sha256: 'f' }, { url: 'LICENSE' }],
        more: { url: 'http://y/b' },
      }),
    ).toEqual(['https://x/a', 'http://y/b']);
  });
});
