/** Failures through the real CLI: exit codes, fail events, stop vs --keep-going, refused commands. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventOf, tasksWith } from '../helpers/ndjson.ts';
import { runCli } from '../helpers/run-cli.ts';
import { createWorkspace, type Workspace } from '../helpers/workspace.ts';

// bad fails; after-bad depends on it; other is independent and comes later in order.
const TASKS = `
  return [
    { name: 'bad', actions: [sh('echo line1 >&2; echo line2 >&2; exit 7')] },
    { name: 'after-bad', taskDeps: ['bad'], actions: [sh('touch after-bad.ran')] },
    { name: 'other', actions: [sh('touch other.ran')] },
    { name: 'all', taskDeps: ['bad', 'after-bad', 'other'] },
    { name: 'lazy', targets: ['_build/never'], actions: [sh('true')] },
    { name: 'needs', fileDeps: ['nope.txt'], actions: [sh('true')] },
    { name: 'flaky', fileDeps: ['in.txt'], targets: ['_build/flaky'],
      actions: [sh('mkdir -p _build && cp in.txt _build/flaky && test -f ok')] },
    { name: 'thrower', actions: [fn('throws', async () => { throw new Error('boom'); })] },
    { name: 'tooled', tools: ['skopeo'], actions: [sh('true')] },
  ];`;

describe('failures', () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await createWorkspace(TASKS);
    ws.write('in.txt', 'x\n');
  });
  afterAll(() => ws.cleanup());

  it('reports a failed command with argv, exit code and stderr tail, and exits 1', async () => {
    const r = await runCli(ws, ['all']);
    expect(r.code).toBe(1);
    expect(eventOf(r.events, 'fail', 'bad')).toMatchObject({
      reason: 'command-failed',
      exitCode: 7,
      argv: ['sh', '-c', 'echo line1 >&2; echo line2 >&2; exit 7'],
      stderrTail: ['line1', 'line2'],
    });
    // Default mode: stop scheduling after the failure (workers=1, `other` comes after `bad`).
    expect(ws.exists('after-bad.ran')).toBe(false);
    expect(eventOf(r.events, 'summary')).toMatchObject({ exitCode: 1, failures: ['bad'] });
    expect((eventOf(r.events, 'summary').counts as { notRun: number }).notRun).toBeGreaterThan(0);
  });

  it('--keep-going runs what does not depend on the failure and marks the rest blocked', async () => {
    const r = await runCli(ws, ['--keep-going', 'all']);
    expect(r.code).toBe(1);
    expect(ws.exists('other.ran')).toBe(true);
    expect(ws.exists('after-bad.ran')).toBe(false);
    expect(eventOf(r.events, 'skip', 'after-bad')).toMatchObject({
      reason: 'blocked',
      reasons: ['dependency failed: bad'],
    });
    expect(eventOf(r.events, 'skip', 'all').reason).toBe('blocked');
  });

  it('fails target-not-produced, missing-file-dep, internal-error and tool-not-found', async () => {
    const r = await runCli(ws, ['-k', 'lazy', 'needs', 'thrower', 'tooled'], {
      env: { SKOPEO_BIN: 'no-such-skopeo' },
    });
    expect(r.code).toBe(1);
    expect(eventOf(r.events, 'fail', 'lazy')).toMatchObject({
      reason: 'target-not-produced',
      message: 'target-not-produced: _build/never',
    });
    expect(eventOf(r.events, 'fail', 'lazy').problem).toMatchObject({
      kind: 'target-not-produced',
      subject: 'lazy',
      message: 'target-not-produced: _build/never',
      severity: 'error',
    });
    expect(eventOf(r.events, 'fail', 'needs').reason).toBe('missing-file-dep');
    expect(eventOf(r.events, 'fail', 'needs').message).toContain('nope.txt');
    expect(eventOf(r.events, 'fail', 'thrower')).toMatchObject({
      reason: 'internal-error',
      message: 'boom',
    });
    expect(eventOf(r.events, 'fail', 'tooled')).toMatchObject({
      reason: 'tool-not-found',
      message: 'tool-not-found: skopeo (set SKOPEO_BIN or run the setup command)',
    });
  });

  it('records nothing for a failed task: it runs again next time', async () => {
    expect((await runCli(ws, ['flaky'])).code).toBe(1);
    ws.write('ok', '');
    const r = await runCli(ws, ['flaky']);
    expect(r.code).toBe(0);
    expect(eventOf(r.events, 'start', 'flaky').reasons).toEqual([
      'no stored state (never ran, forgotten or interrupted)',
    ]);
  });

  it('exits 2 naming the closest tasks for an unknown task, and for the missing default task', async () => {
    const r = await runCli(ws, ['flaki']);
    expect(r.code).toBe(2);
    expect(eventOf(r.events, 'error')).toMatchObject({
      reason: 'unknown-task',
      message: 'unknown task: flaki',
    });
    expect(eventOf(r.events, 'error').hint).toContain('flaky');
    const noIso = await runCli(ws, [], { console: true });
    expect(noIso.code).toBe(2);
    expect(noIso.stderr).toContain('unknown task: iso');
  });

  it('exits 2 on a cycle, naming it', async () => {
    const cyc = await createWorkspace(`return [
      { name: 'a', taskDeps: ['b'], actions: [sh('true')] },
      { name: 'b', fileDeps: ['_build/a'], actions: [sh('true')] },
      { name: 'c', targets: ['_build/a'], taskDeps: ['a'], actions: [sh('true')] },
    ];`);
    try {
      const r = await runCli(cyc, ['a']);
      expect(r.code).toBe(2);
      expect(eventOf(r.events, 'error').reason).toBe('cycle');
      expect(eventOf(r.events, 'error').message).toMatch(/dependency cycle: (a|b|c) -> .* -> \1/);
    } finally {
      await cyc.cleanup();
    }
  });

  it('exits 2 on a malformed or unknown .env line, naming the file and line', async () => {
    ws.write('.env', '# settings\nPROJECT_NAME=x\nthis is not a setting\n');
    const bad = await runCli(ws, ['other'], { console: true });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('.env:3: malformed line');
    ws.write('.env', 'PROJET_NAME=x\n');
    const unknown = await runCli(ws, ['other']);
    expect(unknown.code).toBe(2);
    expect(eventOf(unknown.events, 'error')).toMatchObject({ reason: 'invalid-env' });
    expect(eventOf(unknown.events, 'error').message).toMatch(/\.env:1: unknown key PROJET_NAME$/);
    expect(eventOf(unknown.events, 'error').hint).toContain('PROJECT_NAME');
    ws.remove('.env');
    expect(tasksWith(unknown.events, 'start')).toEqual([]);
  });
});
