/** Task outcomes of a schedule: the fail event of a TaskError and the summary counts. */
import { failureProblem, type SummaryCounts, type TaskFailEvent } from './events.ts';
import type { TaskError } from './task.ts';

/** What happened to a selected task. */
export type TaskOutcome =
  | 'done'
  | 'up-to-date'
  | 'would-run'
  | 'group'
  | 'failed'
  | 'blocked'
  | 'aborted'
  | 'cached'
  | 'ignored';

/** The `fail` event for a task error (optional fields only when known). */
export function failEvent(task: string, e: TaskError, durationMs: number): TaskFailEvent {
  return {
    event: 'fail',
    task,
    reason: e.reason,
    message: e.message,
    ...(e.hint !== undefined ? { hint: e.hint } : {}),
    ...(e.argv !== undefined ? { argv: e.argv } : {}),
    ...(e.exitCode !== undefined ? { exitCode: e.exitCode } : {}),
    ...(e.signalName !== undefined ? { signal: e.signalName } : {}),
    ...(e.stderrTail !== undefined ? { stderrTail: e.stderrTail } : {}),
    durationMs,
    problem: failureProblem({ task, reason: e.reason, message: e.message, hint: e.hint }),
    ...(e.found !== undefined ? { problems: e.found } : {}),
  };
}

/** Summary counts; selected tasks without an outcome were never reached. */
export function countOutcomes(
  outcomes: ReadonlyMap<string, TaskOutcome>,
  selected: Iterable<string>,
): SummaryCounts {
  const counts: SummaryCounts = {
    done: 0,
    upToDate: 0,
    failed: 0,
    blocked: 0,
    wouldRun: 0,
    notRun: 0,
  };
  for (const o of outcomes.values()) {
    if (o === 'done') counts.done++;
    else if (o === 'up-to-date') counts.upToDate++;
    else if (o === 'failed' || o === 'aborted') counts.failed++;
    else if (o === 'blocked') counts.blocked++;
    else if (o === 'would-run') counts.wouldRun++;
    else if (o === 'cached') counts.cached = (counts.cached ?? 0) + 1;
    else if (o === 'ignored') counts.ignored = (counts.ignored ?? 0) + 1;
  }
  for (const n of selected) if (!outcomes.has(n)) counts.notRun++;
  return counts;
}
