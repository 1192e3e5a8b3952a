/**
 * The state's file records as columns (engine/file-table.ts): every lookup order gives the
 * record of that very path (the cursor, the rows near it, the index), removed and re-added
 * records, the stat comparison of a no-op, and the columns a snapshot stores.
 */
import { statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileTable, type FileRecord } from '../../buildchain/engine/file-table.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const rec = (i: number, ctime = true): FileRecord =>
  ctime ? [i + 0.5, i, 1000 + i, `h${i}`, 1, i + 0.25] : [i + 0.5, i, 1000 + i, `h${i}`, 0];

function table(n: number): FileTable {
  const t = new FileTable();
  for (let i = 0; i < n; i++) t.set(`/r/${i}`, rec(i, i % 3 !== 0));
  const c = t.columns();
  const loaded = FileTable.fromColumns(c.paths, c.hashes, c.stats);
  if (loaded === undefined) throw new Error('columns not read back');
  return loaded;
}

describe('FileTable', () => {
  let tmp: TempDir;
  beforeEach(async () => {
    tmp = await makeTempDir('mk8s-file-table-');
  });
  afterEach(() => tmp.cleanup());

  it('finds every record in saved order, nearby order, reverse order and at random', () => {
    const orders = [
      Array.from({ length: 40 }, (_, i) => i),
      // Pairs swapped: the rows near the cursor.
      Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? i + 1 : i - 1)),
      Array.from({ length: 40 }, (_, i) => 39 - i),
      [17, 3, 39, 0, 22, 22, 5, 38],
    ];
    for (const order of orders) {
      const t = table(40);
      for (const i of order) expect(t.get(`/r/${i}`)).toEqual(rec(i, i % 3 !== 0));
      expect(t.get('/r/40')).toBeUndefined();
      expect(t.has('/r/7')).toBe(true);
      expect(t.size).toBe(40);
    }
  });

  it('removes, re-adds and updates records; iterates and saves only the live ones', () => {
    const t = table(10);
    expect(t.delete('/r/4')).toBe(true);
    expect(t.delete('/r/4')).toBe(false);
    expect(t.get('/r/4')).toBeUndefined();
    expect(t.size).toBe(9);
    t.set('/r/4', rec(44));
    t.set('/r/2', rec(22, false));
    t.set('/r/new', rec(7));
    expect(t.get('/r/4')).toEqual(rec(44));
    expect(t.get('/r/2')).toEqual(rec(22, false));
    expect(t.size).toBe(11);
    const all = new Map(t);
    expect(all.size).toBe(11);
    expect(all.get('/r/new')).toEqual(rec(7));
    const c = t.columns();
    const back = FileTable.fromColumns(c.paths, c.hashes, c.stats);
    expect(back === undefined ? undefined : new Map(back)).toEqual(all);
    // Grows past its first capacity.
    for (let i = 0; i < 500; i++) t.set(`/big/${i}`, rec(i));
    expect(t.get('/big/499')).toEqual(rec(499));
    expect(t.get('/r/9')).toEqual(rec(9, false));
  });

  it('trusts a record only for the very stat it was taken with, and only when trusted', () => {
    const f = path.join(tmp.path, 'f');
    writeFileSync(f, 'content');
    const st = statSync(f);
    const t = new FileTable();
    t.set(f, [st.mtimeMs, st.size, st.ino, 'hash', 1, st.ctimeMs]);
    expect(t.trustedHash(f, st)).toBe('hash');
    // Another file (another inode and size); the same file touched (its ctime moved).
    writeFileSync(path.join(tmp.path, 'g'), 'other content');
    expect(t.trustedHash(f, statSync(path.join(tmp.path, 'g')))).toBeUndefined();
    utimesSync(f, st.atime, st.mtime);
    const touched = statSync(f);
    expect(t.trustedHash(f, touched)).toBeUndefined();
    t.set(f, [st.mtimeMs, st.size, st.ino, 'hash', 0, st.ctimeMs]);
    expect(t.trustedHash(f, st)).toBeUndefined();
    // A record without ctime (an older state) matches no stat.
    t.set(f, [st.mtimeMs, st.size, st.ino, 'hash', 1]);
    expect(t.trustedHash(f, st)).toBeUndefined();
    expect(t.trustedHash(path.join(tmp.path, 'other'), st)).toBeUndefined();
  });

  it('refuses damaged columns whole (the records are a cache)', () => {
    const c = new FileTable().set('/a', rec(1)).set('/b', rec(2)).columns();
    expect(FileTable.fromColumns(c.paths, c.hashes, c.stats)?.size).toBe(2);
    expect(FileTable.fromColumns(c.paths, c.hashes.slice(1), c.stats)).toBeUndefined();
    expect(FileTable.fromColumns(['/a', 7], c.hashes, c.stats)).toBeUndefined();
    expect(FileTable.fromColumns(['/a', ''], c.hashes, c.stats)).toBeUndefined();
    expect(FileTable.fromColumns(c.paths, c.hashes, c.stats.slice(8))).toBeUndefined();
    expect(FileTable.fromColumns(c.paths, c.hashes, null)).toBeUndefined();
    // A trust flag other than 0 or 1.
    const bad = new FileTable().set('/a', [1, 2, 3, 'h', 1, 4]).columns();
    const bytes = Buffer.from(bad.stats, 'base64');
    bytes.writeDoubleLE(0.5, 4 * 8);
    expect(FileTable.fromColumns(bad.paths, bad.hashes, bytes.toString('base64'))).toBeUndefined();
  });
});
