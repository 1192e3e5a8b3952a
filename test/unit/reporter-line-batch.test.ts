/**
 * The bulk of a no-op build (up-to-date tasks) is written in one write per burst, not one per
 * task, and batching never reorders lines: any other event writes the kept lines first.
 */
import { Writable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { BuildEvent, Reporter } from '../../buildchain/engine/events.ts';
import { consoleReporter } from '../../buildchain/engine/reporters/console.ts';
import { jsonStreamReporter } from '../../buildchain/engine/reporters/json.ts';

/** A stream recording each write separately, with the stream's name. */
function recorder(name: string, writes: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      writes.push(`${name}:${chunk.toString()}`);
      cb();
    },
  });
}

const upToDate = (task: string): BuildEvent => ({
  event: 'skip',
  task,
  reason: 'up-to-date',
  reasons: [],
});

const FAIL: BuildEvent = {
  event: 'fail',
  task: 'c',
  reason: 'command-failed',
  message: 'false exited with 1',
  durationMs: 1,
};

function makers(writes: string[]): [string, () => Reporter][] {
  return [
    [
      'console',
      () => consoleReporter({ out: recorder('out', writes), err: recorder('err', writes) }),
    ],
    ['json', () => jsonStreamReporter(recorder('out', writes))],
  ];
}

describe('reporters batch the up-to-date lines of a no-op', () => {
  it('writes 300 up-to-date tasks in one write, on the next turn of the event loop', async () => {
    for (const kind of ['console', 'json']) {
      const writes: string[] = [];
      const make = makers(writes).find(([n]) => n === kind)?.[1];
      if (make === undefined) throw new Error(kind);
      const reporter = make();
      for (let i = 0; i < 300; i++) reporter.emit(upToDate(`t${i}`));
      expect(writes, kind).toEqual([]);
      await nextTurn();
      expect(writes, kind).toHaveLength(1);
      const lines = (writes[0] ?? '').split('\n').filter((l) => l !== '');
      expect(lines, kind).toHaveLength(300);
      expect(lines[0], kind).toContain('t0');
      expect(lines[299], kind).toContain('t299');
      await reporter.close();
    }
  });

  it('keeps the order: kept lines are written before any other event, and on close', async () => {
    const writes: string[] = [];
    const reporter = consoleReporter({
      out: recorder('out', writes),
      err: recorder('err', writes),
    });
    reporter.emit(upToDate('a'));
    reporter.emit(upToDate('b'));
    reporter.emit(FAIL);
    reporter.emit(upToDate('d'));
    expect(writes).toEqual(['out:-- a\n-- b\n', expect.stringMatching(/^err:FAILED c/)]);
    await reporter.close();
    expect(writes.at(-1)).toBe('out:-- d\n');
    await nextTurn();
    expect(writes).toHaveLength(3);

    const json: string[] = [];
    const j = jsonStreamReporter(recorder('out', json));
    j.emit(upToDate('a'));
    j.emit(FAIL);
    expect(json.map((w) => (JSON.parse(w.slice(4)) as { task: string }).task)).toEqual(['a', 'c']);
    await j.close();
  });
});
