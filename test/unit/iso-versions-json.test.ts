import { describe, expect, it } from 'vitest';
import type { ImageEntry, PackageList } from '../../buildchain/config/content-types.ts';
import { renderVersionsJson, stableStringify } from '../../buildchain/tasks/salt/versions-json.ts';

const images: ImageEntry[] = [
  { name: 'kube-apiserver', version: 'v1.15.3', ship: 'dir', platforms: 'linux/amd64' },
  { name: 'coredns', version: '1.3.1', ship: 'dir', platforms: 'linux/amd64' },
];
const packages: PackageList = {
  osFamily: 'redhat-7',
  releasever: '7',
  repos: [],
  packages: [
    { name: 'salt-minion', version: '2018.3.4', repo: 'saltstack', built: false },
    { name: 'calico-cni-plugin', version: '3.8.2', release: '1.el7', repo: 'scality', built: true },
    { name: 'socat', repo: 'base', built: false },
  ],
};

describe('versions.json', () => {
  it('has sorted keys at every level, indent 2, no final newline', () => {
    const text = renderVersionsJson({ version: '2.4.0-beta1', images, packages });
    expect(text).toBe(`{
  "images": {
    "coredns": {
      "version": "1.3.1"
    },
    "kube-apiserver": {
      "version": "v1.15.3"
    }
  },
  "kubernetes": {
    "version": "1.15.3"
  },
  "metalk8s": {
    "version": "2.4.0-beta1"
  },
  "packages": {
    "calico-cni-plugin": {
      "version": "3.8.2-1.el7"
    },
    "salt-minion": {
      "version": "2018.3.4"
    },
    "socat": {
      "version": null
    }
  }
}`);
  });

  it('prefers the pinned kubelet package for the Kubernetes version', () => {
    const withKubelet = {
      ...packages,
      packages: [
        ...packages.packages,
        { name: 'kubelet', version: '1.15.4', repo: 'kubernetes', built: false },
      ],
    };
    const doc = JSON.parse(renderVersionsJson({ version: '1', images, packages: withKubelet })) as {
      kubernetes: { version: string };
    };
    expect(doc.kubernetes.version).toBe('1.15.4');
  });

  it('stableStringify sorts nested objects but keeps arrays in order', () => {
    expect(stableStringify({ b: [3, 1], a: { d: 1, c: 2 } }, 0)).toBe(
      '{"a":{"c":2,"d":1},"b":[3,1]}',
    );
  });
});
