import { describe, expect, it } from 'vitest';
import {
  mapUrlByPrefix,
  MirrorSettingsError,
  parseInsecureRegistries,
  parseMirrorSettings,
  parsePackageMirrors,
  parseRegistryMirrors,
} from '../../buildchain/config/mirrors.ts';
import { isNoProxy, proxyFor } from '../../buildchain/lib/http/proxy.ts';
import { probeUrl } from '../../buildchain/sources/reachable.ts';

describe('REGISTRY_MIRRORS', () => {
  it('parses upstream=host[:port][/prefix] pairs', () => {
    expect(
      parseRegistryMirrors(' docker.io=harbor.example.com/dockerhub , quay.io=127.0.0.1:5000/'),
    ).toEqual([
      { upstream: 'docker.io', host: 'harbor.example.com', pathPrefix: 'dockerhub' },
      { upstream: 'quay.io', host: '127.0.0.1:5000', pathPrefix: '' },
    ]);
    expect(parseRegistryMirrors('k8s.gcr.io=nexus:8443/a/b')[0]?.pathPrefix).toBe('a/b');
    expect(parseRegistryMirrors('')).toEqual([]);
  });

  it.each([
    ['docker.io', 'not upstream=mirror'],
    ['docker.io=', 'not upstream=mirror'],
    ['https://docker.io=harbor', 'not a registry host'],
    ['docker.io=https://harbor.example.com', 'without a scheme'],
    ['docker.io=harbor/Bad_Prefix', 'path component'],
    ['docker.io=a,docker.io=b', 'listed twice'],
  ])('rejects %s naming the key', (value, message) => {
    expect(() => parseRegistryMirrors(value)).toThrow(MirrorSettingsError);
    expect(() => parseRegistryMirrors(value)).toThrow(/^REGISTRY_MIRRORS: /);
    expect(() => parseRegistryMirrors(value)).toThrow(message);
  });
});

describe('INSECURE_REGISTRIES and PACKAGE_MIRRORS', () => {
  it('parses insecure hosts and rejects URLs', () => {
    expect(parseInsecureRegistries('127.0.0.1:5000, harbor.local')).toEqual([
      '127.0.0.1:5000',
      'harbor.local',
    ]);
    expect(() => parseInsecureRegistries('http://harbor.local')).toThrow(/^INSECURE_REGISTRIES: /);
  });

  it('parses package mirrors and rejects non-URLs', () => {
    expect(
      parsePackageMirrors(
        'http://mirror.centos.org/centos=https://nexus.example.com/repository/centos',
      ),
    ).toEqual([
      {
        upstreamPrefix: 'http://mirror.centos.org/centos',
        mirrorPrefix: 'https://nexus.example.com/repository/centos',
      },
    ]);
    expect(() => parsePackageMirrors('mirror.centos.org=https://x')).toThrow(/^PACKAGE_MIRRORS: /);
    expect(() => parsePackageMirrors('http://a')).toThrow(/^PACKAGE_MIRRORS: /);
  });

  it('maps URLs by the longest prefix on a path boundary', () => {
    const mirrors = parsePackageMirrors(
      'http://a.org/centos=http://m/c,http://a.org/centos/7/extras=http://m/extras',
    );
    expect(mapUrlByPrefix('http://a.org/centos/7/os/x86_64/repodata/repomd.xml', mirrors)).toBe(
      'http://m/c/7/os/x86_64/repodata/repomd.xml',
    );
    expect(mapUrlByPrefix('http://a.org/centos/7/extras/x86_64/', mirrors)).toBe(
      'http://m/extras/x86_64/',
    );
    expect(mapUrlByPrefix('http://a.org/centos-other/x', mirrors)).toBeUndefined();
    expect(mapUrlByPrefix('http://a.org/centos', mirrors)).toBe('http://m/c');
  });

  it('reads every key from the env, with empty defaults', () => {
    const s = parseMirrorSettings({
      REGISTRY_AUTH_FILE: ' /x/auth.json ',
      INSECURE_REGISTRIES: 'h:1',
    });
    expect(s).toEqual({
      registryMirrors: [],
      insecureRegistries: ['h:1'],
      authFile: '/x/auth.json',
      packageMirrors: [],
    });
    expect(() => parseMirrorSettings({ PACKAGE_MIRRORS: 'x=y' })).toThrow(/PACKAGE_MIRRORS/);
  });
});

describe('reachability targets', () => {
  it('probes URLs as given and registry hosts at https://host/v2/', () => {
    expect(probeUrl('quay.io').href).toBe('https://quay.io/v2/');
    expect(probeUrl('127.0.0.1:5000').href).toBe('https://127.0.0.1:5000/v2/');
    expect(probeUrl('http://mirror.centos.org/centos/7/').href).toBe(
      'http://mirror.centos.org/centos/7/',
    );
  });

  it('follows the proxy variables and NO_PROXY', () => {
    const env = {
      httpsProxy: 'http://proxy:3128',
      httpProxy: '',
      noProxy: 'localhost,.internal',
    };
    expect(proxyFor(new URL('https://quay.io/v2/'), env)?.href).toBe('http://proxy:3128/');
    expect(proxyFor(new URL('https://harbor.internal/v2/'), env)).toBeUndefined();
    expect(proxyFor(new URL('http://mirror.centos.org/'), env)).toBeUndefined();
    expect(isNoProxy('a.b.internal', '443', '.internal')).toBe(true);
    expect(isNoProxy('x.org', '443', '*')).toBe(true);
    expect(isNoProxy('notinternal', '443', 'internal')).toBe(false);
  });
});
