/**
 * The state store (snapshot + append log, crash-safe) and the file hasher (stat shortcut,
 * racy records, directory trees), on a real temp directory; no process is started.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  FileHasher,
  NEEDS_HASHING,
  RACY_MS,
  type FileRecord,
} from '../../buildchain/engine/fingerprint.ts';
import { StateStore, type TaskState } from '../../buildchain/engine/state-store.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const entry = (fp: string): TaskState => ({ fp, parts: '{}', targets: {} });

/** Past the racy margin of the last change (utimes sets the ctime to now). */
const pastRacyMargin = (): Promise<void> => new Promise((r) => setTimeout(r, RACY_MS + 15));

describe('StateStore', () => {
  let tmp: TempDir;
  beforeEach(async () => {
    tmp = await makeTempDir('mk8s-state-');
  });
  afterEach(() => tmp.cleanup());

  it('replays the log over the snapshot, ignoring a torn last line', () => {
    const a = StateStore.open(tmp.path);
    a.set('one', entry('1'));
    a.set('two', entry('2'));
    a.save();
    const b = StateStore.open(tmp.path);
    b.invalidate('one'); // durable at once (the log), before any action would run
    b.set('three', entry('3'));
    b.flush();
    b.close();
    appendFileSync(path.join(tmp.path, 'state.log'), '{"set":"two","sta');
    const c = StateStore.open(tmp.path);
    expect(c.get('one')).toBeUndefined();
    expect(c.get('two')?.fp).toBe('2');
    expect(c.get('three')?.fp).toBe('3');
  });

  it('an invalidation survives a crash even when the snapshot still has the entry', () => {
    const a = StateStore.open(tmp.path);
    a.set('t', entry('1'));
    a.save();
    const b = StateStore.open(tmp.path);
    b.invalidate('t');
    // No save: the process "dies" here.
    expect(StateStore.open(tmp.path).get('t')).toBeUndefined();
  });

  it('ignores a snapshot of another format version (everything stale, nothing misread)', () => {
    writeFileSync(
      path.join(tmp.path, 'state.json'),
      JSON.stringify({ version: 1, tasks: { t: { fp: 'x', parts: {} } }, files: {}, tools: {} }),
    );
    expect(StateStore.open(tmp.path).get('t')).toBeUndefined();
  });

  it('writes the snapshot atomically and removes the folded log', () => {
    const a = StateStore.open(tmp.path);
    a.set('t', entry('1'));
    a.flush();
    a.save();
    expect(() => readFileSync(path.join(tmp.path, 'state.log'))).toThrow();
    // One JSON document, on two lines: the parts last, on the second.
    const text = readFileSync(path.join(tmp.path, 'state.json'), 'utf8');
    expect(JSON.parse(text)).toMatchObject({
      version: 5,
      tasks: { names: ['t'], fps: ['1'], targetCounts: [0], targets: [], observed: [] },
      parts: ['{}'],
    });
    expect(text.split('\n')[1]).toBe('"parts":["{}"]}');
  });

  it('keeps every field through a save and a load (targets, observed values, file records)', () => {
    const a = StateStore.open(tmp.path);
    a.set('t', { fp: 'f1', parts: '{"x":1}', targets: { '/r/a': 'ha', '/r/b': 'hb' } });
    a.set('n', { fp: 'f2', parts: '{}', targets: {}, observed: null });
    a.set('o', { fp: 'f3', parts: '{}', targets: {}, observed: { links: [['a', 'b']] } });
    a.files.set('/r/a', [1.5, 2, 3, 'ha', 1, 4.25]);
    a.files.set('/r/old', [1, 2, 3, 'hx', 0]);
    a.markDirty();
    a.save();
    const b = StateStore.open(tmp.path);
    expect(b.get('t')).toEqual({
      fp: 'f1',
      parts: '{"x":1}',
      targets: { '/r/a': 'ha', '/r/b': 'hb' },
    });
    expect(b.get('t')?.targets['/r/b']).toBe('hb');
    expect(b.get('n')).toEqual({ fp: 'f2', parts: '{}', targets: {}, observed: null });
    expect(b.get('n')).toHaveProperty('observed');
    expect(b.get('t')).not.toHaveProperty('observed');
    expect(b.get('o')?.observed).toEqual({ links: [['a', 'b']] });
    expect(b.files.get('/r/a')).toEqual([1.5, 2, 3, 'ha', 1, 4.25]);
    expect(b.files.get('/r/old')).toEqual([1, 2, 3, 'hx', 0]);
  });

  it('reads a version 3 snapshot (objects) and writes it back as version 5', () => {
    const v3 = {
      version: 3,
      tasks: {
        t: { fp: 'f1', parts: '{}', targets: { '/r/a': 'ha' } },
        o: { fp: 'f2', parts: '{}', targets: {}, observed: [1] },
        bad: { fp: 'f3', parts: { not: 'a string' }, targets: {} },
      },
      files: { '/r/a': [1.5, 2, 3, 'ha', 1, 4.25], '/r/bad': 'nope' },
      tools: { '/usr/bin/x': [1, 2, 3, 'x 1.0'] },
      modules: { '/m.ts': ['hm', ['/n.ts']] },
    };
    writeFileSync(path.join(tmp.path, 'state.json'), JSON.stringify(v3));
    const a = StateStore.open(tmp.path);
    expect(a.get('t')).toEqual({ fp: 'f1', parts: '{}', targets: { '/r/a': 'ha' } });
    expect(a.get('o')?.observed).toEqual([1]);
    expect(a.get('bad')).toBeUndefined();
    expect(a.files.get('/r/a')).toEqual([1.5, 2, 3, 'ha', 1, 4.25]);
    expect(a.files.has('/r/bad')).toBe(false);
    expect(a.tools.get('/usr/bin/x')).toEqual([1, 2, 3, 'x 1.0']);
    expect(a.modules.get('/m.ts')).toEqual(['hm', ['/n.ts']]);
    // Nothing changed, yet the save writes the current format (once).
    a.save();
    const saved = JSON.parse(readFileSync(path.join(tmp.path, 'state.json'), 'utf8')) as {
      version: number;
    };
    expect(saved.version).toBe(5);
    const b = StateStore.open(tmp.path);
    expect(b.get('t')).toEqual(a.get('t'));
    expect(b.get('o')?.observed).toEqual([1]);
    expect(b.files.get('/r/a')).toEqual([1.5, 2, 3, 'ha', 1, 4.25]);
    expect(b.modules.get('/m.ts')).toEqual(['hm', ['/n.ts']]);
  });

  it('reads a version 4 snapshot (rows), skipping damaged rows (those tasks are stale)', () => {
    const rows = {
      version: 4,
      tasks: [
        ['ok', 'f1', '{}', ['/r/a', 'ha']],
        ['odd-targets', 'f2', '{}', ['/r/a']],
        ['no-parts', 'f3', null, []],
        [7, 'f4', '{}', []],
        'not a row',
        ['obs', 'f5', '{}', [], { k: 1 }],
      ],
      files: ['/r/a', 1, 2, 3, 'ha', 1, 4, '/r/b', 'x', 2, 3, 'hb', 1, 4],
      tools: [],
      modules: null,
    };
    writeFileSync(path.join(tmp.path, 'state.json'), JSON.stringify(rows));
    const a = StateStore.open(tmp.path);
    expect([...a.tasks.keys()]).toEqual(['ok', 'obs']);
    expect(a.get('obs')?.observed).toEqual({ k: 1 });
    expect(a.files.get('/r/a')).toEqual([1, 2, 3, 'ha', 1, 4]);
    expect(a.files.has('/r/b')).toBe(false);
    // A file list whose length is not a whole number of rows is dropped whole.
    writeFileSync(
      path.join(tmp.path, 'state.json'),
      JSON.stringify({ ...rows, files: ['/r/a', 1, 2, 3, 'ha', 1] }),
    );
    expect(StateStore.open(tmp.path).files.size).toBe(0);
    expect(StateStore.open(tmp.path).get('ok')?.targets).toEqual({ '/r/a': 'ha' });
  });

  /** The saved snapshot, parsed: everything but the parts, and the parts. */
  const savedLines = (): [Record<string, unknown>, unknown] => {
    const snap = JSON.parse(readFileSync(path.join(tmp.path, 'state.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const { parts, ...head } = snap;
    return [head, parts];
  };
  /** A snapshot laid out as the store writes it, the second line's array being `parts`. */
  const writeLines = (head: unknown, parts: string): void => {
    writeFileSync(
      path.join(tmp.path, 'state.json'),
      `${JSON.stringify(head).slice(0, -1)},\n"parts":${parts}}\n`,
    );
  };

  it('answers fingerprints and target hashes from the snapshot rows, in any lookup order', () => {
    const a = StateStore.open(tmp.path);
    for (let i = 0; i < 50; i++)
      a.set(`t${i}`, { fp: `f${i}`, parts: `{"i":${i}}`, targets: { [`/r/${i}`]: `h${i}` } });
    a.save();
    const b = StateStore.open(tmp.path);
    // In saved order (the cursor), then out of it (the index), then a name never stored.
    for (let i = 0; i < 50; i++) expect(b.fingerprintOf(`t${i}`)).toBe(`f${i}`);
    for (let i = 49; i >= 0; i -= 7) {
      expect(b.targetHash(`t${i}`, `/r/${i}`)).toBe(`h${i}`);
      expect(b.targetHash(`t${i}`, `/r/${i + 1}`)).toBeUndefined();
      expect(b.get(`t${i}`)).toEqual({
        fp: `f${i}`,
        parts: `{"i":${i}}`,
        targets: { [`/r/${i}`]: `h${i}` },
      });
    }
    expect(b.fingerprintOf('t50')).toBeUndefined();
    // Changes since the snapshot win over its rows.
    b.invalidate('t3');
    b.set('t4', { fp: 'new', parts: '{}', targets: {} });
    expect(b.fingerprintOf('t3')).toBeUndefined();
    expect(b.get('t3')).toBeUndefined();
    expect(b.fingerprintOf('t4')).toBe('new');
    expect(b.targetHash('t4', '/r/4')).toBeUndefined();
    expect(b.tasks.size).toBe(49);
    b.save();
    const c = StateStore.open(tmp.path);
    expect(c.get('t3')).toBeUndefined();
    expect(c.get('t4')?.fp).toBe('new');
    expect(c.get('t49')?.parts).toBe('{"i":49}');
  });

  it('a damaged parts line only loses the reasons: fingerprints and targets still decide', () => {
    const a = StateStore.open(tmp.path);
    a.set('t', { fp: 'f1', parts: '{"x":1}', targets: { '/r/a': 'ha' } });
    a.save();
    const [head] = savedLines();
    writeLines(head, '["{\\"x\\":1}", tor');
    const b = StateStore.open(tmp.path);
    expect(b.fingerprintOf('t')).toBe('f1');
    expect(b.get('t')).toEqual({ fp: 'f1', parts: '', targets: { '/r/a': 'ha' } });
    // A parts line with another number of entries than tasks is not trusted either.
    writeLines(head, '["{}", "{}"]');
    expect(StateStore.open(tmp.path).get('t')?.parts).toBe('');
    // The snapshot reformatted (pretty-printed): read whole.
    writeFileSync(
      path.join(tmp.path, 'state.json'),
      JSON.stringify({ ...head, parts: ['{"y":2}'] }, null, 2),
    );
    expect(StateStore.open(tmp.path).get('t')).toEqual({
      fp: 'f1',
      parts: '{"y":2}',
      targets: { '/r/a': 'ha' },
    });
  });

  it('skips damaged rows of a version 5 snapshot, drops damaged file columns whole', () => {
    const a = StateStore.open(tmp.path);
    a.set('ok', { fp: 'f1', parts: '{}', targets: { '/r/a': 'ha' } });
    a.set('bad', { fp: 'f2', parts: '{}', targets: { '/r/b': 'hb' } });
    a.set('after', { fp: 'f3', parts: '{}', targets: { '/r/c': 'hc' }, observed: { k: 1 } });
    a.files.set('/r/a', [1.5, 2, 3, 'ha', 1, 4.25]);
    a.files.set('/r/old', [1, 2, 3, 'hx', 0]);
    a.save();
    const [head, parts] = savedLines();
    const tasks = head.tasks as { fps: unknown[]; targets: unknown[] };
    tasks.fps[1] = 7;
    writeLines(head, JSON.stringify(parts));
    const b = StateStore.open(tmp.path);
    expect([...b.tasks.keys()]).toEqual(['ok', 'after']);
    expect(b.get('after')).toEqual({
      fp: 'f3',
      parts: '{}',
      targets: { '/r/c': 'hc' },
      observed: { k: 1 },
    });
    expect(b.files.get('/r/a')).toEqual([1.5, 2, 3, 'ha', 1, 4.25]);
    expect(b.files.get('/r/old')).toEqual([1, 2, 3, 'hx', 0]);
    // Target pairs that run short: the rows from there on are dropped, never misread.
    tasks.fps[1] = 'f2';
    tasks.targets.length = 3;
    writeLines(head, JSON.stringify(parts));
    expect([...StateStore.open(tmp.path).tasks.keys()]).toEqual(['ok']);
    expect(StateStore.open(tmp.path).get('ok')?.parts).toBe('{}');
    // Stat numbers of another length than the paths: the records are dropped, not the tasks.
    const files = head.files as { stats: string };
    files.stats = files.stats.slice(4);
    writeLines(head, JSON.stringify(parts));
    expect(StateStore.open(tmp.path).files.size).toBe(0);
    expect(StateStore.open(tmp.path).get('ok')?.fp).toBe('f1');
  });
});

describe('FileHasher', () => {
  let tmp: TempDir;
  beforeEach(async () => {
    tmp = await makeTempDir('mk8s-hash-');
  });
  afterEach(() => tmp.cleanup());

  it('does not trust a record taken right after the write (same-size rewrite in the same tick)', async () => {
    const f = path.join(tmp.path, 'f');
    writeFileSync(f, 'aaaa');
    // An mtime not older than the racy margin when hashed (in the future: robust on a slow machine).
    const soon = new Date(Date.now() + 10_000);
    utimesSync(f, soon, soon);
    const cache = new Map<string, FileRecord>();
    const first = await new FileHasher(cache).hash(f);
    expect(cache.get(f)?.[4]).toBe(0);
    writeFileSync(f, 'bbbb');
    // Force the same mtime: the stat alone cannot tell the two contents apart.
    const rec = cache.get(f);
    if (rec === undefined) throw new Error('no record');
    utimesSync(f, new Date(rec[0]), new Date(rec[0]));
    const second = await new FileHasher(cache).hash(f);
    expect(second).not.toBe(first);
  });

  it('trusts old files by stat, and sees any stat change', async () => {
    const f = path.join(tmp.path, 'f');
    writeFileSync(f, 'aaaa');
    const old = new Date(Date.now() - 60_000);
    utimesSync(f, old, old);
    await pastRacyMargin();
    const cache = new Map<string, FileRecord>();
    const h = await new FileHasher(cache).hash(f);
    expect(cache.get(f)?.[4]).toBe(1);
    // A forged record with the same stat is believed: that is the shortcut.
    const [mtime, size, ino, , , ctime] = cache.get(f) as FileRecord;
    cache.set(f, [mtime, size, ino, 'forged', 1, ctime]);
    expect(await new FileHasher(cache).hash(f)).toBe('forged');
    writeFileSync(f, 'aaaa');
    expect(await new FileHasher(cache).hash(f)).toBe(h);
  });

  it('sees a same-size edit whose mtime was put back (its ctime changed)', async () => {
    const f = path.join(tmp.path, 'f');
    const ref = path.join(tmp.path, 'f.ref');
    writeFileSync(f, 'aaaa');
    const old = new Date(Date.now() - 60_000);
    utimesSync(f, old, old);
    // `cp -p` keeps the times to the nanosecond; `touch -r` puts them back after the edit.
    execFileSync('cp', ['-p', f, ref]);
    await pastRacyMargin();
    const cache = new Map<string, FileRecord>();
    const first = await new FileHasher(cache).hash(f);
    expect(cache.get(f)?.[4]).toBe(1);
    const before = statSync(f);
    writeFileSync(f, 'bbbb');
    execFileSync('touch', ['-r', ref, f]);
    const after = statSync(f);
    expect([after.size, after.mtimeMs, after.ino]).toEqual([
      before.size,
      before.mtimeMs,
      before.ino,
    ]);
    const hasher = new FileHasher(cache);
    expect(hasher.peek(f)).toBe(NEEDS_HASHING);
    const second = await hasher.hash(f);
    expect(second).not.toBe(first);
    expect(second).toBe(await new FileHasher(new Map()).hash(f));
  });

  it('a touched file with the same content keeps its hash; an unchanged stat reads nothing', async () => {
    const f = path.join(tmp.path, 'f');
    writeFileSync(f, 'same');
    const old = new Date(Date.now() - 60_000);
    utimesSync(f, old, old);
    await pastRacyMargin();
    const cache = new Map<string, FileRecord>();
    const h = await new FileHasher(cache).hash(f);
    const touched = new Date(Date.now() - 30_000);
    utimesSync(f, touched, touched);
    await pastRacyMargin();
    const again = new FileHasher(cache);
    expect(await again.hash(f)).toBe(h);
    expect(again.misses).toBe(1);
    // The next run knows the file from its stat alone: no read, nothing to save.
    const noop = new FileHasher(cache);
    expect(noop.peek(f)).toBe(h);
    expect(await noop.hash(f)).toBe(h);
    expect(noop.misses).toBe(0);
  });

  it('hashSync reads small files and trees at once; a file above 8 MiB is left to hash()', async () => {
    const sha = (b: Buffer): string =>
      createHash('sha256').update(b).digest('base64url').slice(0, 22);
    // Decreasing sizes through one reused read buffer: no byte of a larger file leaks into
    // the hash of a smaller one.
    const sizes = [300_000, 70_000, 1024, 3, 0];
    const files = sizes.map((n, i) => {
      const f = path.join(tmp.path, `f${i}`);
      writeFileSync(f, Buffer.alloc(n, 97 + i));
      return f;
    });
    const hasher = new FileHasher(new Map());
    for (const f of files) expect(hasher.hashSync(f)).toBe(sha(readFileSync(f)));
    expect(hasher.hashSync(path.join(tmp.path, 'missing'))).toBeUndefined();
    const d = path.join(tmp.path, 'tree');
    mkdirSync(path.join(d, 'sub'), { recursive: true });
    writeFileSync(path.join(d, 'sub/a'), 'a');
    expect(hasher.hashSync(d)).toBe(await new FileHasher(new Map()).hash(d));
    const big = path.join(tmp.path, 'big');
    writeFileSync(big, Buffer.alloc(8 * 1024 * 1024 + 1, 120));
    const fresh = new FileHasher(new Map());
    expect(fresh.hashSync(big)).toBe(NEEDS_HASHING);
    expect(await fresh.hash(big)).toBe(sha(readFileSync(big)));
    writeFileSync(path.join(d, 'big'), Buffer.alloc(8 * 1024 * 1024 + 1, 120));
    const withBig = new FileHasher(new Map());
    expect(withBig.hashSync(d)).toBe(NEEDS_HASHING);
    // The walk hashSync left is finished by hash(): the same hash as a fresh walk.
    expect(await withBig.hash(d)).toBe(await new FileHasher(new Map()).hash(d));
  });

  it('settle waits out the racy margin of files just written, so the next run trusts them', async () => {
    const f = path.join(tmp.path, 'fresh');
    writeFileSync(f, 'just written');
    const cache = new Map<string, FileRecord>();
    const hasher = new FileHasher(cache);
    const h = await hasher.hash(f);
    expect(cache.get(f)?.[4]).toBe(0);
    await hasher.settle();
    expect(cache.get(f)?.[4]).toBe(1);
    expect(cache.get(f)?.[3]).toBe(h);
    expect(new FileHasher(cache).peek(f)).toBe(h);
  });

  it('settle re-reads the older racy records first, then the young ones, trusting all', async () => {
    const older = path.join(tmp.path, 'older');
    const fresh = path.join(tmp.path, 'fresh2');
    writeFileSync(older, 'old content');
    const past = new Date(Date.now() - 60_000);
    utimesSync(older, past, past);
    const cache = new Map<string, FileRecord>();
    const hasher = new FileHasher(cache);
    const ho = await hasher.hash(older);
    // Recorded racy (as when it was hashed right after its write), its stat since unchanged.
    const rec = cache.get(older);
    if (rec === undefined) throw new Error('no record');
    cache.set(older, [rec[0], rec[1], rec[2], 'stale-hash', 0, rec[5]]);
    writeFileSync(fresh, 'just written');
    const hf = await hasher.hash(fresh);
    expect(cache.get(fresh)?.[4]).toBe(0);
    await hasher.settle();
    // The content was read again: the racy record's hash is replaced by the real one.
    expect(cache.get(older)?.slice(3, 5)).toEqual([ho, 1]);
    expect(cache.get(fresh)?.slice(3, 5)).toEqual([hf, 1]);
    // Changed after its racy record was taken: left racy for the next run to read.
    writeFileSync(older, 'edited!!!!!');
    const again = new FileHasher(cache);
    await again.hash(older);
    const edited = cache.get(older);
    if (edited === undefined) throw new Error('no record');
    cache.set(older, [edited[0] - 1, edited[1], edited[2], edited[3], 0, edited[5]]);
    await again.settle();
    expect(cache.get(older)?.[4]).toBe(0);
  });

  it('a directory whose files are known from their stat is hashed without a read', async () => {
    const d = path.join(tmp.path, 'tree');
    mkdirSync(path.join(d, 'sub'), { recursive: true });
    writeFileSync(path.join(d, 'sub/a'), 'a');
    writeFileSync(path.join(d, 'b'), 'b');
    const cache = new Map<string, FileRecord>();
    const first = new FileHasher(cache);
    expect(first.peek(d)).toBe(NEEDS_HASHING);
    const h = await first.hash(d);
    await first.settle();
    const noop = new FileHasher(cache);
    expect(noop.peek(d)).toBe(h);
    expect(noop.misses).toBe(0);
    writeFileSync(path.join(d, 'sub/a'), 'A');
    const changed = new FileHasher(cache);
    expect(changed.peek(d)).toBe(NEEDS_HASHING);
    expect(await changed.hash(d)).not.toBe(h);
  });

  it('hashes directory trees by names, types, exec bits, links and contents', async () => {
    const d = path.join(tmp.path, 'd');
    mkdirSync(path.join(d, 'sub'), { recursive: true });
    writeFileSync(path.join(d, 'sub/a'), 'a');
    symlinkSync('sub/a', path.join(d, 'link'));
    const hashOf = () => new FileHasher(new Map()).hash(d);
    const base = await hashOf();
    expect(base?.startsWith('d:')).toBe(true);
    writeFileSync(path.join(d, 'sub/a'), 'b');
    const edited = await hashOf();
    expect(edited).not.toBe(base);
    rmSync(path.join(d, 'link'));
    symlinkSync('sub/b', path.join(d, 'link'));
    expect(await hashOf()).not.toBe(edited);
    expect(await new FileHasher(new Map()).hash(path.join(tmp.path, 'missing'))).toBeUndefined();
  });
});
