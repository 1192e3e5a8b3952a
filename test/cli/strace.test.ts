/**
 * `strace TASK` (doit's strace command) through the real CLI under the real strace: what the
 * task read and wrote while it ran (command and function actions alike), flagged when not
 * declared; its dependencies' work left out; the task run again each time; usage errors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNdjson, type JsonEvent } from '../helpers/ndjson.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { runCli } from '../helpers/run-cli.ts';
import { createWorkspace, type Workspace } from '../helpers/workspace.ts';

const TASKS = `
  return [
    { name: 'prep', targets: ['_build/in.txt'],
      actions: [sh('mkdir -p _build && echo in > _build/in.txt')] },
    { name: 'gen', taskDeps: ['prep'], fileDeps: ['_build/in.txt', 'src.txt'],
      targets: ['_build/out.txt'],
      actions: [
        sh('cat _build/in.txt src.txt extra.txt > _build/out.txt'),
        fn('side', async () => { await fs.writeFile('_build/side.txt', 'x'); }),
      ] },
    { name: 'bad', actions: [sh('echo partial > _build/partial.txt; exit 3')] },
    { name: 'all', taskDeps: ['gen', 'bad'] },
  ];`;

const traced = (stdout: string): { mode: unknown; path: unknown; note?: unknown }[] =>
  parseNdjson(stdout)
    .filter((e: JsonEvent) => e.event === 'strace')
    .map((e) => ({
      mode: e.mode,
      path: e.path,
      ...(e.note === undefined ? {} : { note: e.note }),
    }));

describe.skipIf(missingTools('strace').length > 0)('strace TASK', () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await createWorkspace(TASKS);
    ws.write('src.txt', 'source\n');
    ws.write('extra.txt', 'read but not declared\n');
  });
  afterAll(async () => {
    await ws.cleanup();
  });

  it("lists the task's reads and writes, flags the undeclared ones, leaves its dependencies out", async () => {
    const r = await runCli(ws, ['strace', 'gen'], { subprocess: true });
    expect(r.code, r.stderr).toBe(0);
    const lines = traced(r.stdout);
    // The command action (a shell and cat) and the function action (in the build process).
    expect(lines).toEqual(
      expect.arrayContaining([
        { mode: 'R', path: '_build/in.txt' },
        { mode: 'R', path: 'src.txt' },
        { mode: 'R', path: 'extra.txt', note: 'not a file dep' },
        { mode: 'W', path: '_build/out.txt' },
        { mode: 'W', path: '_build/side.txt', note: 'not a target' },
      ]),
    );
    // prep ran first in the same build (nothing was built yet): not part of gen's listing.
    expect(lines.some((l) => l.mode === 'W' && l.path === '_build/in.txt')).toBe(false);
    // The buildchain's own files (engine state, the trace itself) are never listed.
    expect(lines.filter((l) => String(l.path).includes('.buildchain'))).toEqual([]);
    expect(ws.exists('_build/strace')).toBe(false);
  });

  it('runs the task again each time, even up to date; --keep keeps the raw trace', async () => {
    const r = await runCli(ws, ['strace', '--keep', 'gen'], { subprocess: true });
    expect(r.code, r.stderr).toBe(0);
    expect(traced(r.stdout)).toContainEqual({ mode: 'W', path: '_build/out.txt' });
    expect(r.stderr).toContain(`strace: the raw trace is kept in ${ws.path('_build/strace')}`);
    expect(ws.exists('_build/strace')).toBe(true);
  });

  it('a failing task: exit 1, what it wrote before failing still listed', async () => {
    const r = await runCli(ws, ['strace', 'bad'], { subprocess: true });
    expect(r.code).toBe(1);
    expect(traced(r.stdout)).toContainEqual({
      mode: 'W',
      path: '_build/partial.txt',
      note: 'not a target',
    });
  });

  it('usage errors: no task, two tasks, a group, an unknown task, no strace (exit 2)', async () => {
    for (const [args, message] of [
      [['strace'], 'strace needs exactly one task name'],
      [['strace', 'gen', 'bad'], 'strace needs exactly one task name'],
      [['strace', 'all'], 'all has no actions of its own (a group of 2 tasks)'],
      [['strace', 'nosuch'], 'unknown task: nosuch'],
    ] as const) {
      const r = await runCli(ws, [...args], { console: true });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(message);
    }
    const none = await runCli(ws, ['strace', 'gen'], {
      console: true,
      env: { STRACE_BIN: 'no-such-strace' },
    });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('strace not found (no-such-strace)');
    expect(none.stderr).toContain('npm run setup installs the Debian package strace');
  });
});
