import { describe, expect, it } from 'vitest';
import {
  checkVolumeId,
  isoDate,
  isXorriso,
  mkisofsArgs,
  NORMALISE_MODES,
} from '../../buildchain/media/iso/mkisofs-args.ts';
import { TaskError } from '../../buildchain/engine/task.ts';

describe('mkisofsArgs', () => {
  it('builds the reference §4.3 flags for xorriso, with fixed dates', () => {
    const argv = mkisofsArgs({
      prefix: ['xorriso', '-as', 'mkisofs'],
      root: '/r',
      volumeId: 'MetalK8s 2.4.0-beta1',
      epoch: 1700000000,
    });
    expect(argv.slice(0, 6)).toEqual([
      'xorriso',
      '-as',
      'mkisofs',
      '--modification-date=2023111422132000',
      '--set_all_file_dates',
      '=1700000000',
    ]);
    expect(argv.slice(6)).toEqual([
      '-output',
      '-',
      '-quiet',
      '-rock',
      '-joliet',
      '-joliet-long',
      '-full-iso9660-filenames',
      '-volid',
      'MetalK8s 2.4.0-beta1',
      '-iso-level',
      '3',
      '-gid',
      '0',
      '-uid',
      '0',
      '-input-charset',
      'utf-8',
      '-output-charset',
      'utf-8',
      '/r',
      '--',
      '-padding',
      '1m',
      ...NORMALISE_MODES,
    ]);
  });

  it('leaves the xorriso-only date flags out for another writer', () => {
    const argv = mkisofsArgs({
      prefix: ['/usr/bin/genisoimage'],
      root: '/r',
      volumeId: 'X 1',
      epoch: 5,
      output: 'o.iso',
    });
    expect(argv.some((a) => a.startsWith('--modification-date'))).toBe(false);
    expect(argv.at(-1)).toBe('/r');
    expect(argv.slice(1, 3)).toEqual(['-output', 'o.iso']);
    expect(isXorriso(['/opt/bin/xorriso'])).toBe(true);
    expect(isXorriso(['genisoimage'])).toBe(false);
  });

  it('accepts a 32-byte volume id and rejects 33 bytes or empty', () => {
    expect(() => {
      checkVolumeId('A'.repeat(32));
    }).not.toThrow();
    expect(() => {
      checkVolumeId('A'.repeat(33));
    }).toThrow(TaskError);
    expect(() => {
      checkVolumeId('');
    }).toThrow(/1 to 32/);
    // bytes, not characters: 16 two-byte characters + 1 = 33 bytes
    expect(() => {
      checkVolumeId('é'.repeat(16) + 'x');
    }).toThrow(/33 bytes/);
  });

  it('formats dates in UTC', () => {
    expect(isoDate(0)).toBe('1970010100000000');
  });
});
