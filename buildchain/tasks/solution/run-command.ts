/**
 * The command runner the Solution steps use: the engine's `ActionContext.exec` inside tasks,
 * or {@link execaRunner} (the engine's one execa wrapper) in the direct pipeline (CLI, tests).
 */
import { runCommand } from '../../engine/exec/run-command.ts';
import type { ActionContext } from '../../engine/task.ts';

/** Runs argv; throws a TaskError `command-failed` (or `tool-not-found`, `aborted`) on failure. */
export type CommandRunner = (
  argv: readonly string[],
  options?: { readonly cwd?: string; readonly env?: Readonly<Record<string, string>> },
) => Promise<{ readonly stdout: string; readonly stderr: string }>;

/** A runner on the engine's execa wrapper (process group, abort, stderr tail). */
export function execaRunner(signal: AbortSignal = new AbortController().signal): CommandRunner {
  return async (argv, options = {}) => {
    const r = await runCommand(argv, {
      cwd: options.cwd ?? process.cwd(),
      ...(options.env !== undefined
        ? { env: { ...process.env, ...options.env } as Record<string, string> }
        : {}),
      signal,
      buffer: true,
    });
    return { stdout: r.stdout, stderr: r.stderr };
  };
}

/** A runner on the engine's exec of a function action. */
export function contextRunner(ctx: ActionContext): CommandRunner {
  return async (argv, options = {}) => {
    const r = await ctx.exec(argv, options);
    return { stdout: r.stdout, stderr: r.stderr };
  };
}
