/**
 * Pure parts of the closure work: repoclosure's report, the node's gpg settings in the argv,
 * built RPMs' dependencies, the download's failure classes with dependency specs, and the
 * version of a built package read from its spec (versions.json).
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PackageList } from '../../buildchain/config/content-types.ts';
import { parseRepoclosure, repoclosureArgs } from '../../buildchain/tasks/packages/closure.ts';
import { classifyDnfFailure } from '../../buildchain/tasks/packages/dnf-args.ts';
import { requestDigest } from '../../buildchain/tasks/packages/lock.ts';
import { builtPackageVersions } from '../../buildchain/tasks/packages/index.ts';
import {
  externalRequirements,
  parseRpmDeps,
  serializePackageDeps,
} from '../../buildchain/tasks/packages/rpm-deps.ts';
import { specVersion } from '../../buildchain/tasks/packages/spec-version.ts';
import { renderVersionsJson } from '../../buildchain/tasks/salt/versions-json.ts';

const REPO = path.resolve(import.meta.dirname, '../..');

describe('repoclosure', () => {
  it('parses each package with its repo and missing requirements', () => {
    const out = [
      'package: metalk8s-sosreport-2.4-1.el7.noarch from metalk8s-scality-el7',
      '  unresolved deps (2):',
      '    python(abi) = 2.7',
      '    sos >= 3.5',
      'package: app-1-1.noarch from r',
      '  unresolved deps (1):',
      '    ghost',
      '',
    ].join('\n');
    expect(parseRepoclosure(out)).toEqual([
      {
        pkg: 'metalk8s-sosreport-2.4-1.el7.noarch',
        repo: 'metalk8s-scality-el7',
        missing: ['python(abi) = 2.7', 'sos >= 3.5'],
      },
      { pkg: 'app-1-1.noarch', repo: 'r', missing: ['ghost'] },
    ]);
    expect(parseRepoclosure('')).toEqual([]);
  });

  it('enables the repos as a node does: gpgcheck with the key files, repo_gpgcheck when signed', () => {
    const argv = repoclosureArgs({
      bin: 'dnf',
      workDir: '/w',
      releasever: '7',
      basearch: 'x86_64',
      repoGpgcheck: true,
      repos: [
        { name: 'metalk8s-base-el7', dir: '/iso/b', keys: ['/iso/b/K-7', '/iso/b/K-7_1'] },
        { name: 'metalk8s-scality-el7', dir: '/iso/s', keys: [] },
      ],
    });
    expect(argv.at(-1)).toBe('repoclosure');
    expect(argv).toContain('--repofrompath=metalk8s-base-el7,file:///iso/b');
    expect(argv).toContain('--setopt=metalk8s-base-el7.gpgcheck=1');
    expect(argv).toContain(
      '--setopt=metalk8s-base-el7.gpgkey=file:///iso/b/K-7,file:///iso/b/K-7_1',
    );
    expect(argv).toContain('--setopt=metalk8s-scality-el7.gpgcheck=0');
    expect(argv).toContain('--setopt=metalk8s-scality-el7.repo_gpgcheck=1');
    expect(argv).toContain('--setopt=reposdir=/dev/null');
  });
});

describe('dependencies of built RPMs', () => {
  const query = [
    'R\tpython(abi) = 2.7',
    'R\tsos >= 3.5',
    'R\trpmlib(CompressedFileNames) <= 3.0.4-1',
    'R\tmetalk8s-sosreport  ',
    'P\tmetalk8s-sosreport = 2.4-1.el7',
    '',
  ].join('\n');

  it('reads requires and provides, leaving rpm-internal ones out', () => {
    expect(parseRpmDeps(query)).toEqual({
      requires: ['metalk8s-sosreport', 'python(abi) = 2.7', 'sos >= 3.5'],
      provides: ['metalk8s-sosreport = 2.4-1.el7'],
    });
  });

  it('keeps what the built packages do not provide themselves, with who needs it', () => {
    const deps = parseRpmDeps(query);
    const sos = JSON.parse(serializePackageDeps('metalk8s-sosreport', [deps])) as {
      provides: string[];
      requires: string[];
      package: string;
    };
    // Names only: a new release alone does not change the file the download depends on.
    expect(sos.provides).toEqual(['metalk8s-sosreport']);
    const other = { package: 'other', requires: ['sos >= 3.5', 'kubernetes-cni'], provides: [] };
    expect(externalRequirements([sos, other])).toEqual([
      { pkg: 'other', requires: 'kubernetes-cni' },
      { pkg: 'metalk8s-sosreport', requires: 'python(abi) = 2.7' },
      { pkg: 'metalk8s-sosreport', requires: 'sos >= 3.5' },
      { pkg: 'other', requires: 'sos >= 3.5' },
    ]);
  });

  it('classifies a dependency no repo provides as a missing package', () => {
    expect(
      classifyDnfFailure(
        'No package sos >= 3.5 available.\nError: No package sos >= 3.5 available.\n',
      ),
    ).toEqual({ kind: 'no-package', names: ['sos >= 3.5'] });
  });

  it('keys the lock on what local RPMs require', () => {
    const list: PackageList = { osFamily: 'redhat-7', releasever: '7', repos: [], packages: [] };
    expect(requestDigest(list, [])).toBe(requestDigest(list));
    expect(requestDigest(list, ['sos >= 3.5'])).not.toBe(requestDigest(list));
    expect(requestDigest(list, ['b', 'a', 'a'])).toBe(requestDigest(list, ['a', 'b']));
  });
});

describe('version of a built package (versions.json)', () => {
  const defines = { dist: '.el7', short_version: '2.4' };

  it('expands the build macros, the default idiom and the spec globals', () => {
    const spec = [
      '%{!?short_version: %global short_version 0.0}',
      '%global rel 3',
      'Name: x',
      'Version: %{short_version}',
      'Release: %{rel}%{?dist}',
      '%description',
      'Version: 9',
    ].join('\n');
    expect(specVersion(spec, defines, 'x')).toEqual({ version: '2.4', release: '3.el7' });
    expect(specVersion(spec, {}, 'x')).toEqual({ version: '0.0', release: '3' });
  });

  it('refuses what it cannot expand, naming the spec and the field', () => {
    expect(() => specVersion('Version: %(date +%s)\nRelease: 1\n', {}, 'spec of y')).toThrow(
      /spec of y: cannot read its version/,
    );
    expect(() => specVersion('Version: 1\n', {}, 'spec of z')).toThrow(/release \(missing\)/);
  });

  it('gives metalk8s-sosreport 2.4-1.el7 (MetalK8s 2.4), and versions.json records it', async () => {
    const list: PackageList = {
      osFamily: 'redhat-7',
      releasever: '7',
      distTag: 'el7',
      repos: [],
      packages: [
        { name: 'metalk8s-sosreport', repo: 'scality', built: true },
        { name: 'calico-cni-plugin', version: '3.8.2', release: '1.el7', repo: '', built: true },
      ],
    };
    const builtVersions = await builtPackageVersions({ root: REPO }, list);
    expect(builtVersions).toEqual({ 'metalk8s-sosreport': '2.4-1.el7' });
    const doc = JSON.parse(
      renderVersionsJson({ version: '2.4.0', images: [], packages: list, builtVersions }),
    ) as { packages: Record<string, { version: string | null }> };
    expect(doc.packages['metalk8s-sosreport']?.version).toBe('2.4-1.el7');
    expect(doc.packages['calico-cni-plugin']?.version).toBe('3.8.2-1.el7');
  });
});
