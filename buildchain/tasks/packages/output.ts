/**
 * Progress output of the packaging library functions (which take the engine's `Exec`, from
 * engine/exec/run-command.ts: a task passes `ctx.exec`, tests and the benchmark `execDirect`).
 */

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
