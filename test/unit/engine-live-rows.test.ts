/**
 * The live view's content (header, one row per running task, history lines), computed
 * without a terminal from the engine's events.
 */
import { describe, expect, it } from 'vitest';
import type { BuildEvent } from '../../buildchain/engine/events.ts';
import { fitWidth, LiveModel, runningRow } from '../../buildchain/engine/reporters/live-rows.ts';

const START: BuildEvent = {
  event: 'build-start',
  command: 'run',
  tasks: 4,
  workers: 2,
  dryRun: false,
  sources: 'upstream',
};

function feed(model: LiveModel, events: readonly BuildEvent[]): (string | undefined)[] {
  return events.map((e) => model.apply(e));
}

describe('LiveModel', () => {
  it('shows the header with sources and counts, then one row per running task', () => {
    const m = new LiveModel();
    feed(m, [
      START,
      { event: 'start', task: 'images:pull:a', title: 'PULL a', reasons: [] },
      { event: 'start', task: 'salt:copy', title: 'salt:copy', reasons: [] },
    ]);
    expect(m.frame()).toEqual({
      header: 'build (sources: upstream) [0/4]',
      rows: ['images:pull:a — PULL a', 'salt:copy'],
    });
  });

  it('shows the latest progress of a task, else its last output line', () => {
    const m = new LiveModel();
    feed(m, [
      START,
      { event: 'start', task: 'a', title: 'a', reasons: [] },
      { event: 'start', task: 'b', title: 'b', reasons: [] },
      { event: 'progress', task: 'a', done: 1, total: 10, message: 'layer 1' },
      { event: 'progress', task: 'a', done: 3, total: 10, message: 'layer 3' },
      { event: 'output', task: 'b', stream: 'stdout', line: 'hello' },
    ]);
    expect(m.frame().rows).toEqual(['a  3/10 layer 3', 'b | hello']);
    m.apply({ event: 'progress', task: 'b', done: 7 });
    expect(m.frame().rows).toEqual(['a  3/10 layer 3', 'b  7']);
  });

  it('removes a row when its task ends and returns its doit marker line', () => {
    const m = new LiveModel();
    const lines = feed(m, [
      START,
      { event: 'start', task: 'a', title: 'a', reasons: ['never built'] },
      { event: 'start', task: 'b', title: 'b', reasons: [] },
      { event: 'skip', task: 'c', reason: 'up-to-date', reasons: [] },
      { event: 'done', task: 'a', durationMs: 5 },
    ]);
    expect(lines).toEqual([undefined, undefined, undefined, '-- c', '.. a']);
    expect(m.frame()).toEqual({ header: 'build (sources: upstream) [2/4]', rows: ['b'] });
    const fail = m.apply({
      event: 'fail',
      task: 'b',
      reason: 'command-failed',
      message: 'skopeo exited with 1\nmore',
      durationMs: 3,
    });
    expect(fail).toBe('!! b: command-failed (skopeo exited with 1)');
    expect(
      m.apply({ event: 'skip', task: 'd', reason: 'blocked', reasons: ['dependency b failed'] }),
    ).toBe('!! d (dependency b failed)');
    expect(m.frame()).toEqual({ header: 'build (sources: upstream) [4/4, 1 failed]', rows: [] });
  });

  it('keeps only failures and blocked tasks in quiet mode', () => {
    const m = new LiveModel(true);
    const lines = feed(m, [
      START,
      { event: 'start', task: 'a', title: 'a', reasons: [] },
      { event: 'done', task: 'a', durationMs: 1 },
      { event: 'skip', task: 'b', reason: 'up-to-date', reasons: [] },
      { event: 'start', task: 'c', title: 'c', reasons: [] },
      { event: 'fail', task: 'c', reason: 'aborted', message: 'interrupted', durationMs: 1 },
    ]);
    expect(lines.filter((l) => l !== undefined)).toEqual(['!! c: aborted (interrupted)']);
  });

  it('names a dry run and prints what would run', () => {
    const m = new LiveModel();
    const line = feed(m, [
      { ...START, dryRun: true, sources: undefined },
      { event: 'skip', task: 'iso', reason: 'dry-run', reasons: ['target missing: _build/x.iso'] },
    ]);
    expect(line[1]).toBe('.. iso (would run: target missing: _build/x.iso)');
    expect(m.frame().header).toBe('dry run [1/4]');
  });

  it('ignores progress of a task that is not running, and the summary', () => {
    const m = new LiveModel();
    feed(m, [START, { event: 'progress', task: 'ghost', done: 1 }]);
    const summary: BuildEvent = {
      event: 'summary',
      exitCode: 0,
      interrupted: false,
      durationMs: 1,
      failures: [],
      counts: { done: 0, upToDate: 0, failed: 0, blocked: 0, wouldRun: 0, notRun: 0 },
    };
    expect(m.apply(summary)).toBeUndefined();
    expect(m.frame().rows).toEqual([]);
  });

  it('collapses rows beyond maxRows and cuts them to the width', () => {
    const m = new LiveModel();
    feed(m, [
      START,
      ...['t1', 't2', 't3', 't4'].map((t): BuildEvent => ({
        event: 'start',
        task: t,
        title: t,
        reasons: [],
      })),
    ]);
    expect(m.frame({ maxRows: 3 }).rows).toEqual(['t1', 't2', '+2 more running']);
    expect(m.frame({ maxRows: 4 }).rows).toEqual(['t1', 't2', 't3', 't4']);
    expect(m.frame({ width: 10 }).header).toBe('build (so…');
  });
});

describe('row helpers', () => {
  it('fitWidth cuts with an ellipsis only when needed', () => {
    expect(fitWidth('abcdef', 6)).toBe('abcdef');
    expect(fitWidth('abcdef', 4)).toBe('abc…');
    expect(fitWidth('abcdef', undefined)).toBe('abcdef');
  });

  it('runningRow omits a title equal to the name and an empty message', () => {
    expect(
      runningRow({ name: 'x', title: 'x', progress: { done: 2, total: 5, message: '' } }),
    ).toBe('x  2/5');
    expect(runningRow({ name: 'x', title: 'COPY x', lastLine: '' })).toBe('x — COPY x');
  });
});
