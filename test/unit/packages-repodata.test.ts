/** Repodata parsing (pure). */
import { describe, expect, it } from 'vitest';
import { joinUrl, parsePrimary, parseRepomd } from '../../buildchain/tasks/packages/repodata.ts';
import { serializeLock, type PackageLock } from '../../buildchain/tasks/packages/lock.ts';

const REPOMD = `<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo">
  <revision>1700000000</revision>
  <data type="primary">
    <checksum type="sha256">aaa</checksum>
    <open-checksum type="sha256">bbb</open-checksum>
    <location href="repodata/aaa-primary.xml.gz"/>
  </data>
  <data type="filelists">
    <checksum type="sha256">ccc</checksum>
    <location href="repodata/ccc-filelists.xml.gz"/>
  </data>
</repomd>`;

const PRIMARY = `<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="2">
<package type="rpm">
  <name>kubelet</name>
  <arch>x86_64</arch>
  <version epoch="0" ver="1.15.3" rel="0"/>
  <checksum type="sha256" pkgid="YES">ABCDEF</checksum>
  <summary>Container cluster management</summary>
  <size package="21043382" installed="121000000" archive="121000544"/>
  <location href="Packages/kubelet-1.15.3-0.x86_64.rpm"/>
</package>
<package type="rpm">
  <name>a&amp;b</name>
  <arch>noarch</arch>
  <version epoch="2" ver="1.0" rel="1.el7"/>
  <checksum type="sha" pkgid="YES">0123</checksum>
  <size package="10" installed="20" archive="30"/>
  <location xml:base="http://other/" href="x/a&amp;b-1.0-1.el7.noarch.rpm"/>
</package>
</metadata>`;

describe('repodata', () => {
  it('finds the data files of repomd.xml', () => {
    expect(parseRepomd(REPOMD)).toEqual([
      {
        type: 'primary',
        href: 'repodata/aaa-primary.xml.gz',
        checksumType: 'sha256',
        checksum: 'aaa',
      },
      {
        type: 'filelists',
        href: 'repodata/ccc-filelists.xml.gz',
        checksumType: 'sha256',
        checksum: 'ccc',
      },
    ]);
  });

  it('reads NEVRA, checksum, size and location of each package', () => {
    expect(parsePrimary(PRIMARY)).toEqual([
      {
        name: 'kubelet',
        arch: 'x86_64',
        epoch: '0',
        version: '1.15.3',
        release: '0',
        checksumType: 'sha256',
        checksum: 'abcdef',
        size: 21043382,
        href: 'Packages/kubelet-1.15.3-0.x86_64.rpm',
      },
      {
        name: 'a&b',
        arch: 'noarch',
        epoch: '2',
        version: '1.0',
        release: '1.el7',
        checksumType: 'sha',
        checksum: '0123',
        size: 10,
        href: 'x/a&b-1.0-1.el7.noarch.rpm',
      },
    ]);
  });

  it('joins base URLs and locations with one slash', () => {
    expect(joinUrl('http://h/r/', '/Packages/a.rpm')).toBe('http://h/r/Packages/a.rpm');
    expect(joinUrl('http://h/r', 'a.rpm')).toBe('http://h/r/a.rpm');
  });
});

describe('lock serialization', () => {
  it('is stable whatever the order of the packages', () => {
    const p = (name: string, repo: string) => ({
      name,
      epoch: '0',
      version: '1',
      release: '1',
      arch: 'noarch',
      repo,
      href: `${name}.rpm`,
      checksumType: 'sha256',
      checksum: 'x',
      size: 1,
    });
    const lock: PackageLock = {
      lockVersion: 1,
      osFamily: 'redhat-7',
      request: 'r',
      keys: [],
      packages: [p('b', 'base'), p('a', 'epel'), p('a', 'base')],
    };
    const again = { ...lock, packages: [...lock.packages].reverse() };
    expect(serializeLock(again)).toBe(serializeLock(lock));
    expect(
      (JSON.parse(serializeLock(lock)) as PackageLock).packages.map((x) => `${x.repo}/${x.name}`),
    ).toEqual(['base/a', 'base/b', 'epel/a']);
  });
});
