import { describe, expect, it } from 'vitest';
import { parseCheckisomd5, parseIsoinfoD } from '../../buildchain/media/iso/read-iso.ts';
import { parsePrimary, parseRepomd } from '../../buildchain/tasks/iso/verify-tree.ts';

describe('ISO reader parsers', () => {
  it('parses isoinfo -d', () => {
    const info = parseIsoinfoD(
      'CD-ROM is in ISO 9660 format\nVolume id: MetalK8s 2.4.0-beta1\nLogical block size is: 2048\nVolume size is: 100\nJoliet with UCS level 3 found\nRock Ridge signatures version 1 found\n',
    );
    expect(info).toEqual({
      volumeId: 'MetalK8s 2.4.0-beta1',
      rockRidge: true,
      joliet: true,
      volumeSize: 204800,
    });
    expect(parseIsoinfoD('Volume id: X\n').rockRidge).toBe(false);
  });

  it('tells checkisomd5 PASS, FAIL and NA apart (exit 1 for both of the last)', () => {
    expect(parseCheckisomd5('The media check is complete, the result is: PASS.', 0)).toBe('PASS');
    expect(parseCheckisomd5('The media check is complete, the result is: FAIL.', 1)).toBe('FAIL');
    expect(parseCheckisomd5('The media check is complete, the result is: NA.', 1)).toBe('NA');
  });

  it('parses repomd.xml and primary.xml', () => {
    const repomd = `<repomd><data type="primary"><checksum type="sha256">ab12</checksum><location href="repodata/ab12-primary.xml.gz"/></data></repomd>`;
    expect(parseRepomd(repomd)).toEqual([
      { type: 'primary', href: 'repodata/ab12-primary.xml.gz', checksum: 'ab12', algo: 'sha256' },
    ]);
    const primary = `<metadata><package type="rpm"><name>x</name><checksum type="sha256" pkgid="YES">cd34</checksum><location href="Packages/x.rpm"/></package></metadata>`;
    expect(parsePrimary(primary)).toEqual([
      { href: 'Packages/x.rpm', checksum: 'cd34', algo: 'sha256' },
    ]);
  });
});
