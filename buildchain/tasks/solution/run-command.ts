/**
 * The command runner the Solution steps use: the engine's `ActionContext.exec` inside tasks,
 * or {@link execaRunner} in the direct pipeline (CLI, tests). argv arrays only.
 */
import { execa } from 'execa';
import { TaskError, type ActionContext } from '../../engine/task.ts';

/** Runs argv; throws a TaskError `command-failed` (or `tool-not-found`) on failure. */
export type CommandRunner = (
  argv: readonly string[],
  options?: { readonly cwd?: string; readonly env?: Readonly<Record<string, string>> },
) => Promise<{ readonly stdout: string; readonly stderr: string }>;

/** A runner on execa, with the error shape of the engine. */
export function execaRunner(signal?: AbortSignal): CommandRunner {
  return async (argv, options = {}) => {
    const [bin, ...args] = argv;
    if (bin === undefined) throw new TaskError('internal-error', 'empty argv');
    const r = await execa(bin, args, {
      reject: false,
      stdin: 'ignore',
      ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
      ...(options.env !== undefined ? { env: { ...process.env, ...options.env } } : {}),
      ...(signal !== undefined ? { cancelSignal: signal } : {}),
    });
    if (r.failed) {
      const code = (r as { code?: string }).code;
      if (code === 'ENOENT') {
        throw new TaskError('tool-not-found', `${bin} not found`, { argv, hint: 'install it (npm run setup) or set its *_BIN key in .env' });
      }
      const stderrTail = String(r.stderr).split('\n').filter((l) => l.trim() !== '').slice(-10);
      throw new TaskError('command-failed', `${argv.slice(0, 3).join(' ')} failed (exit ${String(r.exitCode ?? r.signal)})`, {
        argv,
        ...(r.exitCode !== undefined ? { exitCode: r.exitCode } : {}),
        ...(r.signal !== undefined ? { signalName: r.signal } : {}),
        stderrTail,
      });
    }
    return { stdout: String(r.stdout), stderr: String(r.stderr) };
  };
}

/** A runner on the engine's exec of a function action. */
export function contextRunner(ctx: ActionContext): CommandRunner {
  return async (argv, options = {}) => {
    const r = await ctx.exec(argv, options);
    return { stdout: r.stdout, stderr: r.stderr };
  };
}
