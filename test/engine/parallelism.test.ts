/**
 * Parallel runs (-n): the proof of overlap is in marker files written by the tasks themselves
 * (each waits for the other to have started), never in timing thresholds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainWeights, ReadyQueue } from '../../buildchain/engine/ready-queue.ts';
import { eventOf } from '../helpers/ndjson.ts';
import { runCli } from '../helpers/run-cli.ts';
import { createWorkspace, type Workspace } from '../helpers/workspace.ts';

// Each task marks its start, then waits (at most WAIT_TENTHS/10 s) for the other's mark and
// writes whether it saw it.
const waiter = (me: string, other: string): string =>
  `touch ${me}.started; i=0; while [ ! -f ${other}.started ] && [ $i -lt "$WAIT_TENTHS" ]; do sleep 0.1; i=$((i+1)); done; ` +
  `if [ -f ${other}.started ]; then echo yes > ${me}.saw; else echo no > ${me}.saw; fi`;

const TASKS = `
  const wait = (me, other) => cmd(['sh', '-c', __W__.replaceAll('ME', me).replaceAll('OTHER', other)],
    { env: { WAIT_TENTHS: process.env.WAIT_TENTHS ?? '100' } });
  return [
    { name: 'p1', actions: [wait('p1', 'p2')] },
    { name: 'p2', actions: [wait('p2', 'p1')] },
    { name: 'both', taskDeps: ['p1', 'p2'] },
  ];`.replace('__W__', JSON.stringify(waiter('ME', 'OTHER')));

describe('parallelism', () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await createWorkspace(TASKS);
  });
  afterAll(() => ws.cleanup());

  it('-n 2 runs independent tasks at the same time', async () => {
    const r = await runCli(ws, ['-n', '2', 'both'], { env: { WAIT_TENTHS: '300' } });
    expect(r.code, r.stderr).toBe(0);
    expect(ws.read('p1.saw')).toBe('yes\n');
    expect(ws.read('p2.saw')).toBe('yes\n');
    // The second start comes before the first done in the event stream.
    const idx = (ev: string, task: string) => r.events.indexOf(eventOf(r.events, ev, task));
    expect(Math.max(idx('start', 'p1'), idx('start', 'p2'))).toBeLessThan(
      Math.min(idx('done', 'p1'), idx('done', 'p2')),
    );
  });

  it('the default (one worker) never overlaps', async () => {
    for (const f of ['p1.started', 'p2.started', 'p1.saw', 'p2.saw']) ws.remove(f);
    const r = await runCli(ws, ['both'], { env: { WAIT_TENTHS: '5' } });
    expect(r.code, r.stderr).toBe(0);
    expect(ws.read('p1.saw')).toBe('no\n');
    expect(ws.read('p2.saw')).toBe('yes\n');
  });
});

describe('order of ready tasks', () => {
  let ws: Workspace;
  beforeAll(async () => {
    // A crowd of independent slow tasks, then a chain of quick ones `chain1` → `chain2` → `chain3`.
    ws = await createWorkspace(`
      const t = (name, deps) => ({ name, taskDeps: deps, actions: [cmd(['true'])] });
      const slow = (name) => ({ name, actions: [cmd(['sleep', '1'])] });
      return [
        slow('crowd1'), slow('crowd2'), slow('crowd3'), slow('crowd4'),
        t('chain1', []),
        t('chain2', ['chain1']),
        t('chain3', ['chain2']),
        { name: 'all', taskDeps: ['chain3', 'crowd1', 'crowd2', 'crowd3', 'crowd4'] },
      ];`);
  });
  afterAll(() => ws.cleanup());

  it('one worker runs ready tasks in the order they became ready (definition order)', async () => {
    const r = await runCli(ws, ['-a', 'all']);
    expect(r.code, r.stderr).toBe(0);
    const started = r.events.filter((e) => e.event === 'start').map((e) => e.task);
    // Dependencies first, depth first: chain1 is the first task `all` reaches.
    expect(started).toEqual(['chain1', 'crowd1', 'crowd2', 'crowd3', 'crowd4', 'chain2', 'chain3']);
  });

  it('with workers, the ready task the most tasks wait on goes first; equals in the order they became ready', async () => {
    const r = await runCli(ws, ['-a', '-n', '2', 'all']);
    expect(r.code, r.stderr).toBe(0);
    const started = r.events.filter((e) => e.event === 'start').map((e) => e.task);
    // chain1 and crowd1 first; chain1 is done at once and chain2 (two tasks wait on it) goes
    // before crowd2, which became ready earlier: in ready order it would start third.
    expect(started.slice(0, 3)).toEqual(['chain1', 'crowd1', 'chain2']);
    expect(started).toHaveLength(7);
  });
});

describe('ready queue', () => {
  it('weighs a task by the tasks waiting on it, directly or not (a 10 000-task chain too)', () => {
    const deps: Record<string, string[]> = { a: [], b: ['a'], c: ['b'], x: ['a'], top: ['c', 'x'] };
    const ranks = chainWeights(Object.keys(deps), (n) => deps[n] ?? []);
    expect(Object.fromEntries(ranks)).toEqual({ top: 1, c: 2, x: 2, b: 3, a: 6 });
    const n = 10_000;
    const long = chainWeights(
      Array.from({ length: n }, (_, i) => `t${i}`),
      (name) => {
        const i = Number(name.slice(1));
        return i === 0 ? [] : [`t${i - 1}`];
      },
    );
    expect(long.get('t0')).toBe(n);
    // 60 levels of diamonds double the weight at each level: capped, still ordered.
    const lattice: Record<string, string[]> = { a0: [], b0: [] };
    for (let i = 1; i <= 60; i++) {
      lattice[`a${i}`] = [`a${i - 1}`, `b${i - 1}`];
      lattice[`b${i}`] = [`a${i - 1}`, `b${i - 1}`];
    }
    const capped = chainWeights(Object.keys(lattice), (name) => lattice[name] ?? []);
    expect(capped.get('a0')).toBe(2 ** 40);
    expect(capped.get('a60')).toBe(1);
  });

  it('pops the highest rank first, then first in', () => {
    const rank: Record<string, number> = { low1: 0, high: 5, low2: 0, mid: 2 };
    const q = new ReadyQueue((n) => rank[n] ?? 0);
    for (const n of ['low1', 'high', 'low2', 'mid']) q.push(n);
    expect([q.pop(), q.pop(), q.pop(), q.pop(), q.pop()]).toEqual([
      'high',
      'mid',
      'low1',
      'low2',
      undefined,
    ]);
  });

  it('without weights (one worker) is first in, first out, through many pushes and pops', () => {
    const q = new ReadyQueue();
    const out: (string | undefined)[] = [];
    for (let i = 0; i < 5000; i++) {
      q.push(`a${i}`);
      q.push(`b${i}`);
      out.push(q.pop());
    }
    expect(q.size).toBe(5000);
    while (q.size > 0) out.push(q.pop());
    expect(q.pop()).toBeUndefined();
    const expected: string[] = [];
    for (let i = 0; i < 5000; i++) expected.push(`a${i}`, `b${i}`);
    expect(out).toEqual(expected);
  });
});
