/**
 * Helpers for the lint/artifacts/vagrant tool tests: the engine's command runner as `exec`,
 * and a driver calling a task's actions without the engine. Suites run tasks on the engine
 * (test/helpers/engine-run.ts); the driver is for asserting one action's own error where the
 * task's graph would need far more (vagrant_up needs the ISO).
 */
import { execDirect } from '../../buildchain/engine/exec/run-command.ts';
import { type ActionContext, type TaskDefinition } from '../../buildchain/engine/task.ts';

/** Runs argv with the engine's command runner; non-zero exit throws `command-failed` unless reject=false. */
export const localExec = execDirect;

/** An action context for `task` rooted at `root`, collecting log lines into `lines`. */
export function testContext(task: string, root: string, lines: string[] = []): ActionContext {
  return {
    task,
    root,
    signal: new AbortController().signal,
    log: (line) => lines.push(line),
    progress: () => undefined,
    exec: localExec,
  };
}

/** Calls every action of `task` in order, without the engine (no order, state or tool check). */
export async function runTask(
  task: TaskDefinition,
  root: string,
  lines: string[] = [],
): Promise<void> {
  const ctx = testContext(task.name, root, lines);
  for (const action of task.actions ?? []) {
    if (action.kind === 'function') await action.run(ctx);
    else
      await localExec(action.argv, {
        cwd: action.cwd ?? root,
        ...(action.env ? { env: action.env } : {}),
      });
  }
}

/** Finds a task by name or fails the test. */
export function taskNamed(tasks: readonly TaskDefinition[], name: string): TaskDefinition {
  const t = tasks.find((x) => x.name === name);
  if (t === undefined) throw new Error(`no task ${name} in ${tasks.map((x) => x.name).join(', ')}`);
  return t;
}
