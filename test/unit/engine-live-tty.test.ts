/**
 * The live reporter on a (fake) terminal: listr2 draws the view, finished tasks leave their
 * marker lines, the view ends with the cursor shown, then come the failure blocks and the
 * summary. Also: a build that ends before listr2 started its task must not hang.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BuildEvent } from '../../buildchain/engine/events.ts';
import { liveReporter } from '../../buildchain/engine/reporters/live.ts';

const CURSOR_SHOW = '\u001B[?25h';
const SUMMARY: BuildEvent = {
  event: 'summary',
  exitCode: 1,
  interrupted: false,
  durationMs: 1200,
  failures: ['c'],
  counts: { done: 1, upToDate: 1, failed: 1, blocked: 0, wouldRun: 0, notRun: 0 },
};

const saved = ['isTTY', 'columns', 'rows'].map(
  (k) => [k, Object.getOwnPropertyDescriptor(process.stdout, k)] as const,
);

/** Makes stdout look like a 100x20 terminal and records everything written to it and stderr. */
function fakeTerminal(): { text: () => string } {
  for (const [k, v] of [
    ['isTTY', true],
    ['columns', 100],
    ['rows', 20],
  ] as const) {
    Object.defineProperty(process.stdout, k, { value: v, configurable: true, writable: true });
  }
  const chunks: string[] = [];
  const record = (c: string | Uint8Array): boolean => chunks.push(String(c)) > 0;
  vi.spyOn(process.stdout, 'write').mockImplementation(record);
  vi.spyOn(process.stderr, 'write').mockImplementation(record);
  return { text: () => chunks.join('') };
}

describe('liveReporter on a terminal', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    for (const [k, d] of saved) {
      if (d === undefined) Reflect.deleteProperty(process.stdout, k);
      else Object.defineProperty(process.stdout, k, d);
    }
  });

  it('shows running rows, keeps marker lines, then prints failures and the summary', async () => {
    const term = fakeTerminal();
    const live = liveReporter();
    live.emit({
      event: 'build-start',
      command: 'run',
      tasks: 3,
      workers: 2,
      dryRun: false,
      sources: 'upstream',
    });
    live.emit({ event: 'skip', task: 'a', reason: 'up-to-date', reasons: [] });
    live.emit({ event: 'start', task: 'b', title: 'PULL b', reasons: [] });
    live.emit({ event: 'progress', task: 'b', done: 2, total: 5, message: 'layer x' });
    // Wait for a frame drawn while b runs (listr2 loads its renderer asynchronously).
    await vi.waitFor(
      () => {
        expect(term.text()).toContain('b — PULL b  2/5 layer x');
      },
      { timeout: 5000, interval: 20 },
    );
    const during = term.text();
    live.emit({ event: 'done', task: 'b', durationMs: 10 });
    live.emit({ event: 'start', task: 'c', title: 'c', reasons: [] });
    live.emit({
      event: 'fail',
      task: 'c',
      reason: 'command-failed',
      message: 'false exited with 1',
      exitCode: 1,
      durationMs: 1,
    });
    live.emit(SUMMARY);
    await live.close();
    const all = term.text();
    vi.restoreAllMocks();

    expect(during).toContain('build (sources: upstream) [1/3]');
    for (const line of ['-- a\n', '.. b\n', '!! c: command-failed (false exited with 1)\n'])
      expect(all).toContain(line);
    expect(all.indexOf('-- a')).toBeLessThan(all.indexOf('.. b'));
    // The last frame: the header with the final counts, no rows.
    expect(all).toContain('build (sources: upstream) [3/3, 1 failed]');
    const shown = all.lastIndexOf(CURSOR_SHOW);
    expect(shown).toBeGreaterThan(all.lastIndexOf('\u001B[?25l'));
    expect(all.indexOf('FAILED c: command-failed', shown)).toBeGreaterThan(shown);
    expect(all.endsWith('build failed: 1 run, 1 up to date, 1 failed in 1.2s\n')).toBe(true);
  });

  it('ends at once when the build is over before the view started', async () => {
    const term = fakeTerminal();
    const live = liveReporter({ quiet: true });
    live.emit({ event: 'build-start', command: 'run', tasks: 0, workers: 1, dryRun: false });
    live.emit({ ...SUMMARY, exitCode: 0, failures: [], counts: { ...SUMMARY.counts, failed: 0 } });
    await live.close();
    const all = term.text();
    vi.restoreAllMocks();
    expect(all).toContain(CURSOR_SHOW);
    expect(all.endsWith('build ok: 1 run, 1 up to date in 1.2s\n')).toBe(true);
  });
});
