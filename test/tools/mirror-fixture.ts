/** A tiny content tree (images list, package list, a built spec with upstream sources) for the mirror suites. */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ImageEntry } from '../../buildchain/config/content-types.ts';

/** What the embedded mirror needs to seed and serve its stand-ins (tests skip, or fail under CI, without them). */
export const MIRROR_TOOLS = [
  'docker-registry',
  'nginx',
  'rpmbuild',
  'createrepo_c',
  'gpg',
  'rpmsign',
];

/** calico-node of {@link FIXTURE_IMAGES}, as the image list loads it. */
export const FIXTURE_CALICO_NODE: ImageEntry = {
  name: 'calico-node',
  version: 'v3.8.2',
  ship: 'dir',
  platforms: 'all',
  source: { registry: 'quay.io', repository: 'calico/node' },
};

export const FIXTURE_IMAGES = `images:
  - name: pause
    version: "3.1"
    source: { registry: k8s.gcr.io, repository: pause }
    digest: sha256:f78411e19d84a252e53bff71a4407a5686c46983a2c2eeed83929b888179acea
    ship: archive
    archivePath: images/pause-3.1.tar
  - name: calico-node
    version: v3.8.2
    source: { registry: quay.io, repository: calico/node }
    digest: sha256:6679ccc9f19dba3eb084db991c788dc9661ad3b5d5bafaa3379644229dca6b05
    platforms: all
  - name: grafana
    version: 6.3.5
    source: { registry: docker.io, repository: grafana/grafana }
`;

export function fixturePackages(extra = ''): string {
  return `osFamily: redhat-7
releasever: "7"
basearch: x86_64
distTag: el7
repos:
  - name: base
    baseUrl: http://mirror.centos.org/centos/$releasever/os/$basearch/
    gpgKeys: [http://mirror.centos.org/centos/RPM-GPG-KEY-CentOS-7]
  - name: kubernetes
    baseUrl: https://packages.cloud.google.com/yum/repos/kubernetes-el7-$basearch
    gpgKeys: [https://packages.cloud.google.com/yum/doc/yum-key.gpg]
packages:
  - { name: calico-cni-plugin, version: 3.8.2, release: 1.el7, built: true }
  - { name: kubelet, version: 1.15.3, release: "0", repo: kubernetes }
  - { name: socat }
${extra}`;
}

const SOURCES_YAML = `files:
  - name: calico-amd64
    url: https://github.com/projectcalico/cni-plugin/releases/download/v3.8.2/calico-amd64
    sha256: 4675d8d195c0c30467161b459d99cbd0dd715496d4fadea1010e9deb7880f18b
`;

/** Writes the fixture content under `root` (created world-readable for nginx workers). */
export async function writeMirrorFixture(root: string): Promise<void> {
  await chmod(root, 0o755);
  await mkdir(path.join(root, 'images'), { recursive: true });
  await mkdir(path.join(root, 'packages-specs', 'calico-cni-plugin'), { recursive: true });
  await writeFile(path.join(root, 'images', 'images.yaml'), FIXTURE_IMAGES);
  await writeFile(path.join(root, 'packages-specs', 'redhat-7.yaml'), fixturePackages());
  await writeFile(
    path.join(root, 'packages-specs', 'calico-cni-plugin', 'calico-cni-plugin.spec'),
    'Name: calico-cni-plugin\n',
  );
  await writeFile(
    path.join(root, 'packages-specs', 'calico-cni-plugin', 'sources.yaml'),
    SOURCES_YAML,
  );
}
