import { describe, expect, it } from 'vitest';
import type { FingerprintParts, TaskState } from '../../buildchain/engine/state-store.ts';
import { staleReasons, type UptodateInput } from '../../buildchain/engine/uptodate.ts';

const parts: FingerprintParts = {
  actions: 'A',
  config: '',
  env: { PROJECT_NAME: 'e1' },
  tools: { skopeo: 'v1' },
  files: { '/r/in.txt': 'h1' },
  deps: { dep: 'fp1' },
};
const stored: TaskState = {
  fp: 'FP',
  parts: JSON.stringify(parts),
  targets: { '/r/_build/out': 't1' },
};
const input = (over: Partial<UptodateInput> = {}): UptodateInput => ({
  root: '/r',
  previous: stored,
  parts,
  fp: 'FP',
  targets: [['/r/_build/out', 't1']],
  hasFileDeps: true,
  checks: [],
  alwaysMake: false,
  ...over,
});

describe('staleReasons', () => {
  it('is empty when nothing changed', () => {
    expect(staleReasons(input())).toEqual([]);
  });
  it('names each changed part', () => {
    const changed: FingerprintParts = {
      actions: 'B',
      config: 'c',
      env: { PROJECT_NAME: 'e2' },
      tools: { skopeo: 'v2' },
      files: { '/r/in.txt': 'h2', '/r/new.txt': 'h' },
      deps: { dep: 'fp2' },
    };
    expect(staleReasons(input({ parts: changed, fp: 'FP2' }))).toEqual([
      'actions changed',
      'config changed',
      'env changed: PROJECT_NAME',
      'tool changed: skopeo',
      'file changed: in.txt',
      'file added: new.txt',
      'dependency changed: dep',
    ]);
  });
  it('sees missing and hand-edited targets', () => {
    expect(staleReasons(input({ targets: [['/r/_build/out', undefined]] }))).toEqual([
      'target missing: _build/out',
    ]);
    expect(staleReasons(input({ targets: [['/r/_build/out', 't2']] }))).toEqual([
      'target changed: _build/out',
    ]);
  });
  it('always runs a task without file deps or uptodate checks (doit)', () => {
    expect(staleReasons(input({ hasFileDeps: false }))).toEqual([
      'always runs (no file deps and no uptodate check)',
    ]);
  });
  it('uptodate [true] without file deps only needs its targets, even without stored state', () => {
    expect(
      staleReasons(input({ hasFileDeps: false, checks: [true], previous: undefined })),
    ).toEqual([]);
    expect(
      staleReasons(
        input({
          hasFileDeps: false,
          checks: [true],
          previous: undefined,
          targets: [['/r/x', undefined]],
        }),
      ),
    ).toEqual(['target missing: x', 'no stored state (never ran, forgotten or interrupted)']);
  });
  it('a config value or a target check needs stored state: targets alone are not enough', () => {
    expect(
      staleReasons(
        input({ hasFileDeps: false, needsState: true, checks: [true], previous: undefined }),
      ),
    ).toEqual(['no stored state (never ran, forgotten or interrupted)']);
    expect(staleReasons(input({ hasFileDeps: false, needsState: true, checks: [true] }))).toEqual(
      [],
    );
  });
  it('reports target check changes; a target check alone is not "always runs"', () => {
    expect(staleReasons(input({ targetChanges: ['a (re-created)'] }))).toEqual([
      'target check: a (re-created)',
    ]);
    expect(
      staleReasons(input({ hasFileDeps: false, needsState: true, targetChanges: [] })),
    ).toEqual([]);
    expect(staleReasons(input({ hasFileDeps: false, targetChanges: [] }))).toEqual([]);
  });
  it('reports uptodate checks, forced runs and missing state', () => {
    expect(staleReasons(input({ checks: [false] }))).toEqual(['uptodate check: always run']);
    expect(staleReasons(input({ checks: ['remote digest changed'] }))).toEqual([
      'uptodate check: remote digest changed',
    ]);
    expect(staleReasons(input({ alwaysMake: true }))).toEqual(['forced (--always-make)']);
    expect(staleReasons(input({ previous: undefined }))).toEqual([
      'no stored state (never ran, forgotten or interrupted)',
    ]);
  });
  it('caps long lists', () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 50; i++) files[`/r/f${i}`] = 'x';
    const r = staleReasons(
      input({ parts: { ...parts, files: { ...files, '/r/in.txt': 'h1' } }, fp: 'X' }),
    );
    expect(r).toHaveLength(21);
    expect(r[20]).toBe('... and 30 more');
  });
});
