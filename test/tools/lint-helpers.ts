/**
 * Helpers for the lint/artifacts/vagrant tool tests: the engine's command runner as `exec`,
 * and a driver running a task's function actions without the engine.
 */
import { runCommand } from '../../buildchain/engine/exec/run-command.ts';
import {
  type ActionContext,
  type ExecOptions,
  type ExecResult,
  type TaskDefinition,
} from '../../buildchain/engine/task.ts';

/** Runs argv with the engine's command runner; non-zero exit throws `command-failed` unless reject=false. */
export function localExec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  return runCommand(argv, {
    cwd: options.cwd ?? process.cwd(),
    signal: new AbortController().signal,
    buffer: true,
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.input === undefined ? {} : { input: options.input }),
    ...(options.reject === undefined ? {} : { reject: options.reject }),
  });
}

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

/** Runs every action of `task` in order (function actions in-process, commands via exec). */
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
