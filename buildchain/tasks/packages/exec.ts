/**
 * The command runner the packaging library functions take: a task passes `ctx.exec`; tests
 * and the benchmark use {@link localExec}. argv arrays only, never a shell string.
 */
import { loadExeca } from '../../engine/exec/lazy-execa.ts';
import { TaskError, type ExecOptions, type ExecResult } from '../../engine/task.ts';

/** Runs one command; throws `command-failed` on a non-zero exit unless `reject: false`. */
export type Exec = (argv: readonly string[], options?: ExecOptions) => Promise<ExecResult>;

/** Receives one line of progress output. */
export type Log = (line: string) => void;

/** Last `n` non-empty lines of a command's stderr (for error messages). */
export function tailLines(text: string, n = 10): string[] {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l !== '')
    .slice(-n);
}

/** {@link Exec} with execa, for code running outside the engine (tests, benchmarks). */
export const localExec: Exec = async (argv, options = {}) => {
  const [bin, ...args] = argv;
  if (bin === undefined) throw new TaskError('internal-error', 'empty argv');
  const { execa } = await loadExeca();
  const r = await execa(bin, args, {
    reject: false,
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
  });
  if (r.failed && r.exitCode === undefined) {
    const notFound = (r as { code?: string }).code === 'ENOENT';
    throw new TaskError(notFound ? 'tool-not-found' : 'command-failed', `${bin}: ${r.message}`, {
      argv,
      hint: notFound ? `Install ${bin} (npm run setup) or set its *_BIN key in .env.` : undefined,
    });
  }
  const result = { exitCode: r.exitCode ?? 1, stdout: r.stdout, stderr: r.stderr };
  if (result.exitCode !== 0 && options.reject !== false) {
    throw new TaskError('command-failed', `${argv.join(' ')} exited with ${result.exitCode}`, {
      argv,
      exitCode: result.exitCode,
      stderrTail: tailLines(r.stderr),
    });
  }
  return result;
};
