/**
 * Interrupts through the real CLI: SIGINT mid-task (children killed as a group, exit 130,
 * nothing recorded), kill -9 mid-task (the rerun is never fooled by a partial target), and the
 * one-build-per-BUILD_ROOT lock (held, then stale after kill -9).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventOf, tasksWith } from '../helpers/ndjson.ts';
import { pidExists, runCli, spawnCli, waitFor } from '../helpers/run-cli.ts';
import { createWorkspace, type Workspace } from '../helpers/workspace.ts';

// slow writes a partial target, marks that it started (with its shell pid), then sleeps
// unless `fast` exists, then completes the target.
const TASKS = `
  return [
    { name: 'slow', fileDeps: ['in.txt'], targets: ['_build/out'],
      actions: [sh('mkdir -p _build && echo partial > _build/out && echo $$ > slow.pid && ' +
        '(test -f fast || sleep 60) && cat in.txt > _build/out')] },
    { name: 'after', fileDeps: ['_build/out'], targets: ['_build/after'],
      actions: [sh('cp _build/out _build/after')] },
  ];`;

describe('interrupt', () => {
  let ws: Workspace;
  const leftovers: number[] = [];
  beforeAll(async () => {
    ws = await createWorkspace(TASKS);
    ws.write('in.txt', 'v1\n');
  });
  afterAll(async () => {
    for (const pid of leftovers) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await ws.cleanup();
  });

  const startSlow = async (args: string[] = ['after']) => {
    ws.remove('slow.pid');
    const run = spawnCli(ws, args);
    await waitFor(() => ws.exists('slow.pid') && ws.read('slow.pid').trim() !== '');
    const shellPid = Number(readFileSync(ws.path('slow.pid'), 'utf8').trim());
    leftovers.push(shellPid);
    return { ...run, shellPid };
  };

  it('SIGINT stops the running command group, records nothing, exits 130; the rerun completes', async () => {
    const { child, done, shellPid } = await startSlow();
    child.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(130);
    expect(eventOf(r.events, 'fail', 'slow').reason).toBe('aborted');
    expect(eventOf(r.events, 'summary')).toMatchObject({ interrupted: true, exitCode: 130 });
    await waitFor(() => !pidExists(shellPid), 10_000);
    ws.write('fast', '');
    const rerun = await runCli(ws, ['after']);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(tasksWith(rerun.events, 'done')).toEqual(['slow', 'after']);
    expect(ws.read('_build/after')).toBe('v1\n');
    ws.remove('fast');
  });

  it('kill -9 mid-task never leaves a task looking up to date with a partial target', async () => {
    ws.write('in.txt', 'v2\n');
    const { child, done } = await startSlow();
    child.kill('SIGKILL');
    await done;
    expect(ws.read('_build/out')).toBe('partial\n');
    // The dead build's lock is stale: the next build takes it over.
    ws.write('fast', '');
    const rerun = await runCli(ws, ['after']);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(tasksWith(rerun.events, 'done')).toEqual(['slow', 'after']);
    expect(ws.read('_build/out')).toBe('v2\n');
    expect(ws.read('_build/after')).toBe('v2\n');
    ws.remove('fast');
    // Forced rerun of an up-to-date task killed mid-way: its stored state was deleted first.
    const forced = await startSlow(['-a', 'slow']);
    forced.child.kill('SIGKILL');
    await forced.done;
    ws.write('fast', '');
    const again = await runCli(ws, ['slow']);
    expect(eventOf(again.events, 'start', 'slow').reasons).toContain(
      'no stored state (never ran, forgotten or interrupted)',
    );
    ws.remove('fast');
  });

  it('a second concurrent build fails at once naming the holder pid', async () => {
    ws.write('in.txt', 'v3\n');
    const { child, done } = await startSlow(['slow']);
    const second = await runCli(ws, ['slow']);
    expect(second.code).toBe(2);
    expect(eventOf(second.events, 'error')).toMatchObject({ reason: 'lock-held' });
    expect(eventOf(second.events, 'error').message).toContain(`(pid ${child.pid ?? -1})`);
    child.kill('SIGTERM');
    expect((await done).code).toBe(130);
  });
});
