/**
 * Errors that stop a command before any task runs (exit code 2), and helpers turning anything
 * thrown by an action into a {@link TaskError}.
 */
import { TaskError } from './task.ts';

/** Reasons a command may be refused before running any task. */
export type UsageReason =
  | 'usage'
  | 'unknown-task'
  | 'cycle'
  | 'duplicate-task'
  | 'invalid-task'
  | 'invalid-env'
  | 'lock-held';

/** A user or configuration mistake found before anything ran: exit code 2. */
export class UsageError extends Error {
  readonly reason: UsageReason;
  readonly hint: string | undefined;

  constructor(reason: UsageReason, message: string, hint?: string) {
    super(message);
    this.name = 'UsageError';
    this.reason = reason;
    this.hint = hint;
  }
}

/** Converts anything thrown by an action into a TaskError (unknown errors: `internal-error`). */
export function toTaskError(err: unknown, aborted: boolean): TaskError {
  if (err instanceof TaskError) return err;
  if (aborted) return new TaskError('aborted', 'interrupted');
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    const detail = code === undefined ? err.message : `${code}: ${err.message}`;
    return new TaskError('internal-error', detail, {
      stderrTail: (err.stack ?? '').split('\n').slice(1, 8),
    });
  }
  return new TaskError('internal-error', String(err));
}

/** Exhaustiveness helper for switches over reasons. */
export function unreachable(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}
