/**
 * The expected failures every layer may throw: an action's {@link TaskError} (the engine
 * reports it per task; while the graph is being defined it becomes a usage error, exit 2).
 * Defined at the bottom layer so that lib/ depends on nothing above it; the engine re-exports
 * it as part of its task API (engine/task.ts).
 */
import type { Problem } from './problem.ts';

/** Reasons a task may fail with; reporters switch on them exhaustively. */
export type FailureReason =
  | 'command-failed'
  | 'missing-file-dep'
  | 'target-not-produced'
  | 'tool-not-found'
  | 'digest-mismatch'
  | 'invalid-input'
  | 'unreachable'
  | 'aborted'
  | 'internal-error';

/**
 * An expected failure thrown by an action. Anything else thrown becomes `internal-error`.
 * `hint` tells the user how to fix it (shown after the message).
 */
export class TaskError extends Error {
  readonly reason: FailureReason;
  readonly hint: string | undefined;
  readonly argv: readonly string[] | undefined;
  readonly exitCode: number | undefined;
  readonly signalName: string | undefined;
  readonly stderrTail: readonly string[] | undefined;
  /** The problems a check found (lint errors, ...), carried by the `fail` event as `problems`. */
  readonly found: readonly Problem[] | undefined;

  constructor(
    reason: FailureReason,
    message: string,
    details: {
      hint?: string;
      argv?: readonly string[];
      exitCode?: number;
      signalName?: string;
      stderrTail?: readonly string[];
      found?: readonly Problem[];
    } = {},
  ) {
    super(message);
    this.name = 'TaskError';
    this.reason = reason;
    this.hint = details.hint;
    this.argv = details.argv;
    this.exitCode = details.exitCode;
    this.signalName = details.signalName;
    this.stderrTail = details.stderrTail;
    this.found = details.found;
  }
}
