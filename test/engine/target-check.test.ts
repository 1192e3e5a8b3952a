/**
 * Engine features replacing domain stamp files (issue 12): a task's target check (observed
 * after each run, kept with its state, compared at the next evaluation and handed to the next
 * run) and a config value that needs stored state. Through the real CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventOf, tasksWith } from '../helpers/ndjson.ts';
import { runCli } from '../helpers/run-cli.ts';
import { createWorkspace, type Workspace } from '../helpers/workspace.ts';

// linked: writes _build/out; its target check observes the content of _build/seen (standing
// for what a stat pass sees, e.g. inodes) and the action writes what the last run observed to
// _build/last. configured / plain: uptodate [true] with a target, with
// and without a config value.
const TASKS = `
  const seen = () => fs.readFile('_build/seen', 'utf8').catch(() => 'none');
  return [
    { name: 'linked',
      targetCheck: { observe: seen, changes: (before, now) => (before === now ? [] : ['seen ' + before + ' -> ' + now]) },
      actions: [fn('linked', async (ctx) => {
        await fs.mkdir('_build', { recursive: true });
        await fs.writeFile('_build/last', JSON.stringify(ctx.lastObserved ?? null));
        await fs.writeFile('_build/out', 'x');
      })] },
    { name: 'configured', config: { v: 1 }, uptodate: [true], targets: ['_build/c'],
      actions: [sh('mkdir -p _build && echo c > _build/c')] },
    { name: 'plain', uptodate: [true], targets: ['_build/p'],
      actions: [sh('mkdir -p _build && echo p > _build/p')] },
  ];`;

describe('target checks and config values', () => {
  let ws: Workspace;
  const run = async (args: string[] = ['linked', 'configured', 'plain']) => {
    const r = await runCli(ws, args);
    expect(r.code, r.stderr).toBe(0);
    return r.events;
  };

  beforeAll(async () => {
    ws = await createWorkspace(TASKS);
  });
  afterAll(() => ws.cleanup());

  it('runs once, then is up to date while the observed value holds', async () => {
    expect(tasksWith(await run(), 'start').sort()).toEqual(['configured', 'linked', 'plain']);
    expect(ws.read('_build/last')).toBe('null');
    expect(tasksWith(await run(), 'start')).toEqual([]);
  });

  it('runs again when the observed value changes, and the action sees the recorded one', async () => {
    const before = ws.read('_build/last');
    ws.write('_build/seen', 'two');
    const events = await run();
    expect(tasksWith(events, 'start')).toEqual(['linked']);
    expect(eventOf(events, 'start', 'linked').reasons).toEqual(['target check: seen none -> two']);
    expect(before).toBe('null');
    expect(JSON.parse(ws.read('_build/last'))).toBe('none');
    expect(tasksWith(await run(), 'start')).toEqual([]);
  });

  it('after forget, a task with a config value or a target check runs; one without keeps its targets', async () => {
    expect((await runCli(ws, ['forget', 'linked', 'configured', 'plain'])).code).toBe(0);
    const events = await run();
    expect(tasksWith(events, 'start').sort()).toEqual(['configured', 'linked']);
    expect(eventOf(events, 'start', 'configured').reasons).toEqual([
      'no stored state (never ran, forgotten or interrupted)',
    ]);
    // Forgotten: the run gets no recorded value.
    expect(ws.read('_build/last')).toBe('null');
  });
});
