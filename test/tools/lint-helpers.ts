/**
 * Helpers for the lint/artifacts/vagrant tool tests: a child-process `exec` with the engine's
 * contract, and a driver running a task's function actions without the engine.
 */
import { spawn } from 'node:child_process';
import {
  TaskError,
  type ActionContext,
  type ExecOptions,
  type ExecResult,
  type TaskDefinition,
} from '../../buildchain/engine/task.ts';

/** Runs argv (no shell); non-zero exit throws `command-failed` unless reject=false. */
export function localExec(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const [bin, ...args] = argv;
  if (bin === undefined) return Promise.reject(new Error('empty argv'));
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => {
      reject(new TaskError('tool-not-found', `${bin}: ${err.message}`, { argv }));
    });
    child.on('close', (code) => {
      const exitCode = code ?? 1;
      if (exitCode !== 0 && options.reject !== false) {
        reject(
          new TaskError('command-failed', `${argv.join(' ')} exited ${exitCode}`, {
            argv,
            exitCode,
            stderrTail: stderr.split('\n').slice(-10),
          }),
        );
      } else {
        resolve({ exitCode, stdout, stderr });
      }
    });
    child.stdin.end(options.input ?? '');
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
