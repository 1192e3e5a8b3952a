import { describe, expect, it } from 'vitest';
import { snapshotChanges } from '../../buildchain/tasks/images/dedup.ts';

describe('dedup inode snapshots', () => {
  const before = {
    '/i/a/1/version': '1:10',
    '/i/b/1/version': '1:10',
    '/i/a/1/manifest.json': '1:11',
  };

  it('is empty when every file keeps its inode', () => {
    expect(snapshotChanges(before, { ...before })).toEqual([]);
  });

  it('names files re-created (new inode), added and gone', () => {
    const now = { '/i/a/1/version': '1:20', '/i/b/1/version': '1:10', '/i/c/1/version': '1:21' };
    expect(snapshotChanges(before, now)).toEqual([
      '/i/a/1/version (re-created)',
      '/i/c/1/version (new)',
      '/i/a/1/manifest.json (gone)',
    ]);
  });

  it('caps the list, counting the others', () => {
    const now = Object.fromEntries(Object.keys(before).map((p) => [p, '2:1']));
    expect(snapshotChanges(before, now, 1)).toEqual(['/i/a/1/version (re-created)', 'and 2 more']);
  });
});
