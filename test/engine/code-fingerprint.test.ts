/**
 * Code-aware fingerprints through the real CLI: editing the code of a function action (its
 * module or a project module it imports) re-runs exactly the tasks whose code changed, with no
 * hand-kept version label.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tasksWith } from '../helpers/ndjson.ts';
import { runCli } from '../helpers/run-cli.ts';
import { createWorkspace, REPO_ROOT, type Workspace } from '../helpers/workspace.ts';

const TASK_TS = JSON.stringify(path.join(REPO_ROOT, 'buildchain/engine/task.ts'));

// Each task module defines its action with `fn` and a fixed label; a-task imports a-lib.
const A_TASK = `import { fn } from ${TASK_TS};
import { writeFile, mkdir } from 'node:fs/promises';
import { greeting } from './a-lib.mjs';
export const aTask = { name: 'a', targets: ['_build/a.txt'], fileDeps: ['in.txt'],
  actions: [fn('write-a', async () => { await mkdir('_build', { recursive: true }); await writeFile('_build/a.txt', greeting()); })] };
`;
const B_TASK = `import { fn } from ${TASK_TS};
import { writeFile, mkdir } from 'node:fs/promises';
export const bTask = { name: 'b', targets: ['_build/b.txt'], fileDeps: ['in.txt'],
  actions: [fn('write-b', async () => { await mkdir('_build', { recursive: true }); await writeFile('_build/b.txt', 'b'); })] };
`;

describe('code-aware fingerprints', () => {
  let ws: Workspace;
  const run = async () => {
    // A subprocess each time: the tasks modules import modules that the tests rewrite.
    const r = await runCli(ws, [], { subprocess: true });
    expect(r.code, r.stderr).toBe(0);
    return tasksWith(r.events, 'start').sort();
  };

  beforeAll(async () => {
    ws = await createWorkspace('');
    ws.write('in.txt', 'x\n');
    ws.write('a-task.mjs', A_TASK);
    ws.write('b-task.mjs', B_TASK);
    ws.write('a-lib.mjs', "export function greeting() { return 'hello'; }\n");
    ws.write('unrelated.mjs', 'export const x = 1;\n');
    // The tasks module only gathers the tasks: its own code defines no action.
    writeFileSync(
      ws.tasksModule,
      `import { aTask } from './a-task.mjs';\nimport { bTask } from './b-task.mjs';\n` +
        `export function createTasks() { return [aTask, bTask, { name: 'iso', taskDeps: ['a', 'b'] }]; }\n`,
    );
  });
  afterAll(() => ws.cleanup());

  it('runs both once, then neither', async () => {
    expect(await run()).toEqual(['a', 'b']);
    expect(ws.read('_build/a.txt')).toBe('hello');
    expect(await run()).toEqual([]);
  });

  it('an edit of a module the action imports re-runs that task only', async () => {
    ws.write('a-lib.mjs', "export function greeting() { return 'bonjour'; }\n");
    expect(await run()).toEqual(['a']);
    expect(ws.read('_build/a.txt')).toBe('bonjour');
    expect(await run()).toEqual([]);
  });

  it("an edit of the action's own module re-runs it; an unrelated module re-runs nothing", async () => {
    ws.write('b-task.mjs', `${B_TASK}// a comment is an edit too\n`);
    expect(await run()).toEqual(['b']);
    ws.write('unrelated.mjs', 'export const x = 2;\n');
    expect(await run()).toEqual([]);
  });

  it('a module whose stat is unchanged is not read again: its import list comes from the state', async () => {
    expect(await run()).toEqual([]);
    const stateFile = ws.path('_build/.buildchain/state.json');
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as {
      modules: Record<string, [string, string[]]>;
    };
    const aTask = ws.path('a-task.mjs');
    expect(state.modules[aTask]?.[1]).toContain(ws.path('a-lib.mjs'));
    // Forge the recorded import list of a-task.mjs (unrelated.mjs instead of a-lib.mjs): task
    // a's code closure changes only if the list is believed, i.e. a-task.mjs was not parsed
    // again (the same shortcut as the file stat cache).
    state.modules[aTask] = [state.modules[aTask]?.[0] ?? '', [ws.path('unrelated.mjs')]];
    writeFileSync(stateFile, JSON.stringify(state));
    expect(await run()).toEqual(['a']);
    // a-task.mjs edited: parsed again, its real imports are back.
    ws.write('a-task.mjs', `${A_TASK}// edited\n`);
    expect(await run()).toEqual(['a']);
    expect(await run()).toEqual([]);
    const again = JSON.parse(readFileSync(stateFile, 'utf8')) as typeof state;
    expect(again.modules[aTask]?.[1]).toContain(ws.path('a-lib.mjs'));
  });
});
