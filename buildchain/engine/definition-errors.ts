/**
 * Turns the expected failures thrown while the task graph is being defined (a malformed
 * content list, a bad setting) into {@link UsageError}s: the CLI then exits 2 with the
 * message and its hint, never an "internal error" with a stack trace. Actions keep throwing
 * {@link TaskError}s (the engine reports those per task).
 */
import { UsageError } from './failures.ts';
import { TaskError } from './task.ts';

/** `KEY=...`, `KEY: ...` or `KEY='...'` at the start of a message: the setting it is about. */
const SETTING_AT_START = /^([A-Z][A-Z0-9_]*)(?:=|: |=?')/;

/**
 * The error to rethrow for `err`, caught while defining tasks or opening sources. A TaskError
 * other than `internal-error` becomes a UsageError: `invalid-env` when its message starts with
 * one of `settings` (`SOURCE_DATE_EPOCH='x' is not...`), `invalid-task` otherwise. Anything
 * else is returned unchanged (a real internal error keeps its stack).
 */
export function toDefinitionError(
  err: unknown,
  settings: Readonly<Record<string, unknown>> = {},
): unknown {
  if (!(err instanceof TaskError) || err.reason === 'internal-error') return err;
  const key = SETTING_AT_START.exec(err.message)?.[1];
  const reason = key !== undefined && key in settings ? 'invalid-env' : 'invalid-task';
  return new UsageError(reason, err.message, err.hint);
}

/** Runs `define` and rethrows its expected failures as UsageErrors (see {@link toDefinitionError}). */
export function defineTasks<T>(
  define: () => T,
  settings: Readonly<Record<string, unknown>> = {},
): T {
  try {
    return define();
  } catch (err) {
    throw toDefinitionError(err, settings);
  }
}
