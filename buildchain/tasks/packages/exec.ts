/**
 * The command runner the packaging library functions take: a task passes `ctx.exec`; tests
 * and the benchmark use {@link localExec}. argv arrays only, never a shell string.
 */
import { execDirect } from '../../engine/exec/run-command.ts';
import type { ExecOptions, ExecResult } from '../../engine/task.ts';

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

/** {@link Exec} for code running outside the engine (tests, benchmarks): the engine's runner. */
export const localExec: Exec = execDirect;
