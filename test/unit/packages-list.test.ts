/** Package list validation (pure: parsed YAML documents, no disk). */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { expandRepoVars, parsePackageList } from '../../buildchain/config/packages.ts';
import { parseSpecSources } from '../../buildchain/tasks/packages/spec-sources.ts';
import { requestDigest } from '../../buildchain/tasks/packages/lock.ts';

const DOC = `
osFamily: redhat-7
releasever: "7"
distTag: el7
repos:
  - { name: base, baseUrl: "http://mirror.example/centos/$releasever/os/$basearch/", gpgKeys: ["http://mirror.example/KEY-$releasever"] }
  - { name: epel, baseUrl: "https://epel.example/$releasever/$basearch/" }
packages:
  - { name: calico-cni-plugin, version: 3.8.2, release: 1.el7, built: true }
  - { name: kubelet, version: 1.15.3, repo: base }
  - { name: socat }
`;

function load(doc: string, project?: string) {
  return parsePackageList(
    'packages-specs/redhat-7.yaml',
    parse(doc),
    'redhat-7',
    project === undefined ? {} : { projectName: project },
  );
}

function errorOf(f: () => unknown): { message: string; reason: string; hint?: string } {
  try {
    f();
  } catch (e) {
    return e as { message: string; reason: string; hint?: string };
  }
  throw new Error('no error');
}

describe('parsePackageList', () => {
  it('expands yum variables, names ISO repos after the project, marks built packages', () => {
    const list = load(DOC, 'MyProduct');
    expect(list.repos[0]).toEqual({
      name: 'base',
      baseUrl: 'http://mirror.example/centos/7/os/x86_64/',
      gpgKeys: ['http://mirror.example/KEY-7'],
      isoName: 'myproduct-base-el7',
    });
    expect(list.repos[1]?.gpgKeys).toEqual([]);
    expect(list.packages).toEqual([
      {
        name: 'calico-cni-plugin',
        version: '3.8.2',
        release: '1.el7',
        repo: 'scality',
        built: true,
      },
      { name: 'kubelet', version: '1.15.3', repo: 'base', built: false },
      { name: 'socat', repo: '', built: false },
    ]);
  });

  it.each([
    [
      'an unknown repo',
      DOC.replace('repo: base', 'repo: nope'),
      "package 'kubelet': unknown repo 'nope'",
    ],
    ['a duplicate package', `${DOC}  - { name: socat }\n`, "package 'socat' is listed twice"],
    [
      'a release without version',
      DOC.replace('{ name: socat }', '{ name: socat, release: "2" }'),
      "package 'socat': release without version",
    ],
    [
      'a non-URL base',
      DOC.replace('https://epel.example/', 'epel.example/'),
      "repo 'epel': baseUrl 'epel.example/7/x86_64/' is not a URL",
    ],
    [
      'the reserved local repo name',
      DOC.replace('name: epel', 'name: scality'),
      "repos[1]: invalid repo name 'scality'",
    ],
    [
      'another OS family',
      DOC.replace('osFamily: redhat-7', 'osFamily: redhat-8'),
      "osFamily is 'redhat-8', expected 'redhat-7'",
    ],
  ])('rejects %s naming the file and the entry', (_what, doc, message) => {
    const e = errorOf(() => load(doc));
    expect(e.reason).toBe('invalid-input');
    expect(e.message).toBe(`packages-specs/redhat-7.yaml: ${message}`);
    expect(e.hint).toBeTruthy();
  });

  it('expandRepoVars replaces every occurrence', () => {
    expect(expandRepoVars('$releasever/$basearch/$releasever', '8', 'aarch64')).toBe('8/aarch64/8');
  });
});

describe('requestDigest', () => {
  it('changes with a pin or a repo URL, not with built packages or order', () => {
    const a = load(DOC);
    const same = load(
      DOC.replace(
        '  - { name: kubelet, version: 1.15.3, repo: base }\n  - { name: socat }',
        '  - { name: socat }\n  - { name: kubelet, version: 1.15.3, repo: base }',
      ),
    );
    expect(requestDigest(same)).toBe(requestDigest(a));
    expect(requestDigest(load(DOC.replace('release: 1.el7', 'release: 2.el7')))).toBe(
      requestDigest(a),
    );
    expect(requestDigest(load(DOC.replace('1.15.3', '1.15.4')))).not.toBe(requestDigest(a));
    expect(requestDigest(load(DOC.replace('epel.example', 'epel2.example')))).not.toBe(
      requestDigest(a),
    );
  });
});

describe('parseSpecSources', () => {
  const sha = 'a'.repeat(64);
  it('reads name, url and sha256', () => {
    expect(
      parseSpecSources('s.yaml', {
        files: [{ name: 'calico-amd64', url: 'https://x/calico-amd64', sha256: sha }],
      }),
    ).toEqual([{ name: 'calico-amd64', url: 'https://x/calico-amd64', sha256: sha }]);
    expect(parseSpecSources('s.yaml', null)).toEqual([]);
  });
  it('rejects a bad checksum and a duplicate name', () => {
    expect(
      errorOf(() =>
        parseSpecSources('s.yaml', { files: [{ name: 'a', url: 'https://x/a', sha256: 'abc' }] }),
      ).message,
    ).toContain('sha256 must be 64');
    const dup = { name: 'a', url: 'https://x/a', sha256: sha };
    expect(errorOf(() => parseSpecSources('s.yaml', { files: [dup, dup] })).message).toContain(
      'listed twice',
    );
  });
});
