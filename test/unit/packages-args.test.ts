/** argv builders and output parsers of the packaging domain (pure). */
import { describe, expect, it } from 'vitest';
import {
  builderCommand,
  rpmbuildArgs,
  specSourceFiles,
} from '../../buildchain/tasks/packages/rpmbuild-args.ts';
import {
  classifyDnfFailure,
  dnfResolveArgs,
  packageSpecString,
  parseDnfUrls,
} from '../../buildchain/tasks/packages/dnf-args.ts';
import { parseChecksig, rpmsignArgs } from '../../buildchain/tasks/packages/signing.ts';
import { createrepoArgs } from '../../buildchain/tasks/packages/createrepo-args.ts';

describe('rpmbuild argv', () => {
  const inner = (t: string) =>
    rpmbuildArgs({
      bin: 'rpmbuild',
      topdir: '/b/top',
      topdirInArgv: t,
      mode: 'rpm',
      input: 'SRPMS/x.src.rpm',
      defines: { dist: '.el7' },
      nodeps: false,
    });

  it('builds locally with the reproducibility macros and SOURCE_DATE_EPOCH', () => {
    const c = builderCommand({ builder: 'local', topdir: '/b/top', epoch: 1_700_000_000 }, inner);
    expect(c.argv).toEqual([
      'rpmbuild',
      '--quiet',
      '--define',
      '_buildhost reproducible',
      '--define',
      '_topdir /b/top',
      '--define',
      'clamp_mtime_to_source_date_epoch 1',
      '--define',
      'dist .el7',
      '--define',
      'use_source_date_epoch_as_buildtime 1',
      '--rebuild',
      '/b/top/SRPMS/x.src.rpm',
    ]);
    expect(c.env).toEqual({ SOURCE_DATE_EPOCH: '1700000000', LC_ALL: 'C', TZ: 'UTC' });
  });

  it('runs the same command in a container with the topdir mounted, without network', () => {
    const c = builderCommand(
      {
        builder: 'podman',
        engineBin: '/usr/bin/podman',
        image: 'registry.example/el7-build:1',
        topdir: '/b/top',
        epoch: 5,
      },
      inner,
    );
    expect(c.argv.slice(0, 13)).toEqual([
      '/usr/bin/podman',
      'run',
      '--rm',
      '--network=none',
      '--volume',
      '/b/top:/rpmbuild:Z',
      '--workdir',
      '/rpmbuild',
      '--env',
      'SOURCE_DATE_EPOCH=5',
      '--env',
      'LC_ALL=C',
      '--env',
    ]);
    expect(c.argv).toContain('registry.example/el7-build:1');
    expect(c.argv.slice(c.argv.indexOf('registry.example/el7-build:1') + 1)).toEqual(
      inner('/rpmbuild'),
    );
    const docker = builderCommand({ builder: 'docker', topdir: '/b/top', epoch: 5 }, inner);
    expect(docker.argv[0]).toBe('docker');
    expect(docker.argv).toContain('/b/top:/rpmbuild');
    expect(docker.argv).toContain('docker.io/library/centos:7');
  });

  it('adds --nodeps for local builds and -bs for SRPMs', () => {
    const a = rpmbuildArgs({
      bin: 'rb',
      topdir: '/t',
      topdirInArgv: '/t',
      mode: 'srpm',
      input: 'SPECS/a.spec',
      nodeps: true,
    });
    expect(a.slice(-3)).toEqual(['--nodeps', '-bs', '/t/SPECS/a.spec']);
  });

  it('reads source file names from an expanded spec', () => {
    const spec =
      'Name: x\nSource0:        https://github.com/p/r/releases/download/v3.8.2/calico-amd64\nSource1: LICENSE\nSource: https://h/archive/v1.tar.gz#/r-1.tar.gz\nPatch3: fix.patch\n%description\nSource9: two words\n';
    expect(specSourceFiles(spec)).toEqual(['calico-amd64', 'LICENSE', 'r-1.tar.gz', 'fix.patch']);
  });
});

describe('dnf argv and output', () => {
  it('resolves hermetically with explicit repos', () => {
    const argv = dnfResolveArgs({
      bin: 'dnf',
      workDir: '/w',
      releasever: '7',
      basearch: 'x86_64',
      repos: [
        { name: 'base', url: 'http://m/base/' },
        { name: 'epel', url: 'http://m/epel/' },
      ],
      specs: ['kubelet-1.15.3', 'socat'],
    });
    expect(argv).toEqual([
      'dnf',
      '-q',
      '-y',
      '--refresh',
      '--releasever=7',
      '--forcearch=x86_64',
      '--config=/w/dnf.conf',
      '--setopt=reposdir=/dev/null',
      '--setopt=skip_if_unavailable=False',
      '--setopt=retries=1',
      '--setopt=cachedir=/w/cache',
      '--setopt=system_cachedir=/w/cache',
      '--setopt=logdir=/w/log',
      '--setopt=persistdir=/w/lib',
      '--repofrompath=base,http://m/base/',
      '--repofrompath=epel,http://m/epel/',
      '--repo=base',
      '--repo=epel',
      'download',
      '--resolve',
      '--alldeps',
      '--url',
      'kubelet-1.15.3',
      'socat',
    ]);
  });

  it('formats pins as dnf specs', () => {
    expect(packageSpecString({ name: 'a' })).toBe('a');
    expect(packageSpecString({ name: 'a', version: '1.2' })).toBe('a-1.2');
    expect(packageSpecString({ name: 'a', version: '1.2', release: '3.el7' })).toBe('a-1.2-3.el7');
  });

  it('keeps only RPM URLs from the output', () => {
    expect(
      parseDnfUrls(
        'Last metadata expiration check\nhttp://h/r/b.rpm\nhttp://h/r/a.rpm\nhttp://h/r/a.rpm\n',
      ),
    ).toEqual(['http://h/r/a.rpm', 'http://h/r/b.rpm']);
  });

  it('classifies failures', () => {
    expect(
      classifyDnfFailure(
        "Errors during downloading metadata for repository 'epel':\n  - Curl error (7): Couldn't connect to server\nError: Failed to download metadata for repo 'epel': Cannot download repomd.xml",
      ),
    ).toMatchObject({ kind: 'repo-unreachable', repo: 'epel' });
    expect(
      classifyDnfFailure('No package nonexist available.\nError: No package nonexist available.'),
    ).toEqual({ kind: 'no-package', names: ['nonexist'] });
    expect(
      classifyDnfFailure(
        ' Problem: conflicting requests\n  - nothing provides libc.so.6 needed by x',
      ),
    ).toMatchObject({ kind: 'unresolvable' });
  });
});

describe('signing', () => {
  it('passes the gpg path and key to rpmsign', () => {
    expect(
      rpmsignArgs({
        bin: 'rpmsign',
        gpgPath: '/usr/bin/gpg',
        keyName: 'K <k@x>',
        files: ['a.rpm'],
      }),
    ).toEqual([
      'rpmsign',
      '--define',
      '__gpg /usr/bin/gpg',
      '--define',
      '_gpg_name K <k@x>',
      '--addsign',
      'a.rpm',
    ]);
  });

  it('parses rpm -K output', () => {
    const out = [
      '/c/a.rpm: digests signatures OK',
      '/c/b.rpm: digests OK',
      '/c/c.rpm: digests SIGNATURES NOT OK',
      '/c/d.rpm: DIGESTS SIGNATURES NOT OK',
      '/c/e f.rpm: digests signatures OK',
    ].join('\n');
    expect(Object.fromEntries(parseChecksig(out))).toEqual({
      '/c/a.rpm': 'signed',
      '/c/b.rpm': 'unsigned',
      '/c/c.rpm': 'bad-signature',
      '/c/d.rpm': 'bad-digest',
      '/c/e f.rpm': 'signed',
    });
  });
});

describe('createrepo_c argv', () => {
  it('pins the revision and timestamps', () => {
    expect(createrepoArgs({ bin: 'createrepo_c', dir: '/r', epoch: 42 })).toEqual([
      'createrepo_c',
      '--quiet',
      '--revision',
      '42',
      '--set-timestamp-to-revision',
      '/r',
    ]);
  });
});
