/** Runs a task's actions in order: commands through the exec wrapper, functions in-process. */
import { runCommand } from './exec/run-command.ts';
import type { Reporter } from './events.ts';
import type { Action, ActionContext, ExecOptions, ExecResult } from './task.ts';
import { TaskError } from './task.ts';

export interface RunActionsOptions {
  readonly task: string;
  readonly root: string;
  readonly signal: AbortSignal;
  readonly reporter: Reporter;
  /** Emit output events for every line (-v, or the task's `verbose`). */
  readonly verbose: boolean;
  /** Environment added to every command (the task's declared env keys with their values). */
  readonly env?: Readonly<Record<string, string>>;
  /** What the task's target check observed after its last successful run (ActionContext.lastObserved). */
  readonly lastObserved?: unknown;
}

const LOG_TAIL = 20;

/** A `ctx.log` line starting with this is always reported, not only with -v. */
export const WARNING_PREFIX = 'warning: ';

/** Runs the actions; on failure throws a TaskError carrying the last log lines when it has none. */
export async function runActions(
  actions: readonly Action[],
  opts: RunActionsOptions,
): Promise<void> {
  const logTail: string[] = [];
  const emitLine = (stream: 'stdout' | 'stderr' | 'log', line: string): void => {
    if (stream !== 'stdout') {
      logTail.push(line);
      if (logTail.length > LOG_TAIL) logTail.shift();
    }
    // A warning of the action (ctx.log('warning: ...')) shows without -v too.
    if (opts.verbose || (stream === 'log' && line.startsWith(WARNING_PREFIX))) {
      opts.reporter.emit({ event: 'output', task: opts.task, stream, line });
    }
  };
  const ctx: ActionContext = {
    task: opts.task,
    signal: opts.signal,
    root: opts.root,
    lastObserved: opts.lastObserved,
    log: (line) => {
      emitLine('log', line);
    },
    progress: (done, total, message) => {
      opts.reporter.emit({ event: 'progress', task: opts.task, done, total, message });
    },
    exec: (argv: readonly string[], o: ExecOptions = {}): Promise<ExecResult> =>
      runCommand(argv, {
        cwd: o.cwd ?? opts.root,
        env: { ...opts.env, ...o.env },
        input: o.input,
        reject: o.reject,
        timeoutMs: o.timeoutMs,
        signal: opts.signal,
        buffer: true,
        onLine: emitLine,
      }),
  };
  for (const action of actions) {
    if (opts.signal.aborted) throw new TaskError('aborted', 'interrupted');
    try {
      if (action.kind === 'command') {
        await runCommand(action.argv, {
          cwd: action.cwd ?? opts.root,
          env: { ...opts.env, ...action.env },
          input: action.input,
          signal: opts.signal,
          onLine: emitLine,
        });
      } else {
        await action.run(ctx);
      }
    } catch (err) {
      if (err instanceof TaskError && err.stderrTail === undefined && logTail.length > 0) {
        throw new TaskError(err.reason, err.message, {
          hint: err.hint,
          argv: err.argv,
          exitCode: err.exitCode,
          signalName: err.signalName,
          stderrTail: [...logTail],
          found: err.found,
        });
      }
      throw err;
    }
  }
}
