import { describe, expect, it } from 'vitest';
import { UsageError } from '../../buildchain/engine/failures.ts';
import { isPrivateName, TaskGraph } from '../../buildchain/engine/graph.ts';
import { closestNames } from '../../buildchain/engine/suggest.ts';
import { cmd, type TaskDefinition } from '../../buildchain/engine/task.ts';
import { wildcardToRegExp } from '../../buildchain/engine/wildcard.ts';

const t = (name: string, extra: Partial<TaskDefinition> = {}): TaskDefinition => ({
  name,
  actions: [cmd(['true'])],
  ...extra,
});
const graph = (defs: TaskDefinition[]) => new TaskGraph('/r', defs);
const usage = (f: () => unknown): UsageError => {
  try {
    f();
  } catch (e) {
    if (e instanceof UsageError) return e;
    throw e;
  }
  throw new Error('no UsageError thrown');
};

describe('wildcards (fnmatch)', () => {
  it('matches * across segments, ? and classes', () => {
    expect(
      wildcardToRegExp('_build_packages:calico*:*').test(
        '_build_packages:calico-cni:pkg_get_source',
      ),
    ).toBe(true);
    expect(
      wildcardToRegExp('_build_packages*:pkg_get_source').test(
        '_build_packages:salt:pkg_get_source',
      ),
    ).toBe(true);
    expect(wildcardToRegExp('a?c').test('abc')).toBe(true);
    expect(wildcardToRegExp('a?c').test('abbc')).toBe(false);
    expect(wildcardToRegExp('x[!ab]').test('xc')).toBe(true);
    expect(wildcardToRegExp('x[!ab]').test('xa')).toBe(false);
    expect(wildcardToRegExp('a.b').test('axb')).toBe(false);
  });
});

describe('TaskGraph', () => {
  it('adds implicit deps from targets to file deps, also under directory targets', () => {
    const g = graph([
      t('gen', { targets: ['_build/root'] }),
      t('one', { targets: ['_build/one'] }),
      t('iso', { fileDeps: ['_build/one', '_build/root/x/y'] }),
    ]);
    expect(g.get('iso').deps.sort()).toEqual(['gen', 'one']);
    // Deps found through file deps are covered by content: not in the fingerprint.
    expect(g.get('iso').fingerprintDeps).toEqual([]);
  });

  it('finds the nearest directory target above a file dep, inside the root or out of it', () => {
    const g = graph([
      t('outer', { targets: ['_build/a'] }),
      t('inner', { targets: ['_build/a/b'] }),
      // Same length as `_build/a/b`: looked up, not an ancestor.
      t('other', { targets: ['_build/c/d'] }),
      t('abroad', { targets: ['/elsewhere/out'] }),
      t('use', { fileDeps: ['_build/a/b/c/file', '_build/a/x', '/elsewhere/out/y/z', 'src/q'] }),
    ]);
    expect(g.get('use').deps.sort()).toEqual(['abroad', 'inner', 'outer']);
    const nearest = graph([
      t('outer', { targets: ['_build/a'] }),
      t('inner', { targets: ['_build/a/b'] }),
      t('use', { fileDeps: ['_build/a/b/c/file'] }),
    ]);
    expect(nearest.get('use').deps).toEqual(['inner']);
    const inside = graph([
      t('gen', { targets: ['_build/a'] }),
      t('use', { fileDeps: ['/x/_build/a/f'] }),
    ]);
    expect(inside.get('use').deps).toEqual([]);
  });

  it('puts explicit deps with targets (and groups) in the fingerprint', () => {
    const g = graph([
      t('a', { targets: ['x'] }),
      t('b'),
      { name: 'grp', taskDeps: ['a'] },
      t('c', { taskDeps: ['a', 'b', 'grp'] }),
    ]);
    expect(g.get('c').fingerprintDeps).toEqual(['a', 'grp']);
  });

  it('selects dependencies first, with wildcards, group prefixes and / separators', () => {
    const g = graph([
      t('p:calico:get'),
      t('p:calico:build', { taskDeps: ['p:calico:get'] }),
      t('p:salt:get'),
      t('iso', { taskDeps: ['p:*:build'] }),
    ]);
    expect(g.select(['iso'])).toEqual(['p:calico:get', 'p:calico:build', 'iso']);
    expect(g.select(['p/*/get']).sort()).toEqual(['p:calico:get', 'p:salt:get']);
    expect(g.select(['p:calico'])).toEqual(['p:calico:get', 'p:calico:build']);
  });

  it('reports unknown tasks with the closest names', () => {
    const e = usage(() => graph([t('images'), t('iso')]).select(['imags']));
    expect(e.reason).toBe('unknown-task');
    expect(e.hint).toContain('images');
  });

  it('reports cycles with their path, including through file deps', () => {
    const e = usage(() =>
      graph([
        t('a', { taskDeps: ['b'] }),
        t('b', { fileDeps: ['out'] }),
        t('c', { targets: ['out'], taskDeps: ['a'] }),
      ]),
    );
    expect(e.reason).toBe('cycle');
    expect(e.message).toMatch(/^dependency cycle: (\w) -> \w -> \w -> \1$/);
  });

  it('rejects duplicate names and shared targets', () => {
    expect(usage(() => graph([t('a'), t('a')])).reason).toBe('duplicate-task');
    expect(
      usage(() => graph([t('a', { targets: ['x'] }), t('b', { targets: ['x'] })])).reason,
    ).toBe('invalid-task');
  });

  it('adds dynamic deps (files produced by other tasks, task wildcards)', () => {
    const g = graph([
      t('gen', { targets: ['_build/f'] }),
      t('other'),
      t('iso', { dynamicDeps: { after: [], compute: () => Promise.resolve({}) } }),
    ]);
    expect(g.addDynamicDeps('iso', ['_build/f'], ['oth*'])).toEqual(['other', 'gen']);
    expect(g.get('iso').fileDeps).toEqual(['/r/_build/f']);
  });

  it('builds and selects a 10k-task graph', () => {
    const defs: TaskDefinition[] = [];
    for (let i = 0; i < 10_000; i++)
      defs.push(t(`c:${i}`, { fileDeps: [`s/${i}`], targets: [`o/${i}`] }));
    defs.push(t('all', { fileDeps: defs.map((d) => (d.targets ?? [])[0] ?? '') }));
    expect(graph(defs).select(['all'])).toHaveLength(10_001);
  });
});

describe('names', () => {
  it('private names start a first or last segment with _', () => {
    expect(isPrivateName('_build_packages:calico')).toBe(true);
    expect(isPrivateName('images:_pull')).toBe(true);
    expect(isPrivateName('images:pull')).toBe(false);
  });
  it('suggests close names', () => {
    expect(closestNames('vagrant_upp', ['vagrant_up', 'iso', 'lint'])).toEqual(['vagrant_up']);
    expect(closestNames('zzz', ['iso'])).toEqual([]);
  });
});

describe('TaskGraph.abs', () => {
  it('keeps clean absolute paths, joins clean relative ones, normalizes the others', () => {
    const g = graph([]);
    expect(g.abs('/b/c.txt')).toBe('/b/c.txt');
    expect(g.abs('a/b.txt')).toBe('/r/a/b.txt');
    for (const [given, want] of [
      ['/b/../c', '/c'],
      ['/b/./c', '/b/c'],
      ['/b//c', '/b/c'],
      ['/b/c/', '/b/c/'],
      ['/b/c/.', '/b/c'],
      ['./a', '/r/a'],
      ['a/../b', '/r/b'],
      ['a//b', '/r/a/b'],
      ['..', '/'],
    ])
      expect(g.abs(given ?? ''), given).toBe(want);
  });
});
