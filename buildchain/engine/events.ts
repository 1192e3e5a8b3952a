/**
 * Build events: the interface between the scheduler and the reporters. The JSON reporter
 * writes them one per line, unchanged (see docs/engine.md for the schema).
 */
import { problem, problemFromText, type Problem } from '../lib/problem.ts';
import type { FailureReason } from './task.ts';
import type { UsageReason } from './failures.ts';

/** Why a task did not run its actions. */
export type SkipReason = 'up-to-date' | 'dry-run' | 'blocked' | 'no-actions' | 'ignored';

export interface BuildStartEvent {
  readonly event: 'build-start';
  readonly command: string;
  /** Number of tasks selected (including dependencies). */
  readonly tasks: number;
  readonly workers: number;
  readonly dryRun: boolean;
  /** Where upstream content comes from (the build banner), e.g. `upstream`. */
  readonly sources?: string;
}
export interface TaskStartEvent {
  readonly event: 'start';
  readonly task: string;
  readonly title: string;
  /** Why the task runs (same strings as `info` and the dry run). */
  readonly reasons: readonly string[];
}
export interface TaskSkipEvent {
  readonly event: 'skip';
  readonly task: string;
  readonly reason: SkipReason;
  /** dry-run: why it would run; blocked: the failed dependency. */
  readonly reasons: readonly string[];
}
/** A task's outputs restored from the build cache instead of running its actions. */
export interface TaskCachedEvent {
  readonly event: 'cached';
  readonly task: string;
  /** The cache key (hex sha256 of the portable fingerprint). */
  readonly key: string;
  /** Bytes downloaded. */
  readonly bytes: number;
  readonly durationMs: number;
}
/** What the build cache did during a build (before the summary, when BUILD_CACHE is set). */
export interface CacheStatsEvent {
  readonly event: 'cache-stats';
  /** `oci://host/repo`. */
  readonly url: string;
  readonly mode: 'read' | 'readwrite';
  readonly tasksRestored: number;
  readonly tasksSaved: number;
  readonly tasksMissed: number;
  readonly taskBytesDown: number;
  readonly taskBytesUp: number;
  readonly blobsFromCache: number;
  readonly blobBytesFromCache: number;
  readonly blobsFromUpstream: number;
  readonly blobBytesFromUpstream: number;
  readonly blobsUploaded: number;
  /** Blobs (and bytes) put into the cache by a cross-repository mount (nothing sent). */
  readonly blobsMounted: number;
  readonly blobBytesMounted: number;
  readonly blobBytesUp: number;
  readonly warnings: number;
}
export interface TaskDoneEvent {
  readonly event: 'done';
  readonly task: string;
  /** Wall-clock duration of the actions, in milliseconds. */
  readonly durationMs: number;
}
export interface TaskFailEvent {
  readonly event: 'fail';
  readonly task: string;
  readonly reason: FailureReason;
  readonly message: string;
  readonly hint?: string;
  readonly argv?: readonly string[];
  readonly exitCode?: number;
  readonly signal?: string;
  /** Last lines of the failed command's stderr (or of the task's log). */
  readonly stderrTail?: readonly string[];
  readonly durationMs: number;
  /** The failure as a problem: kind = reason, subject = task, fix = hint (see {@link failureProblem}). */
  readonly problem?: Problem;
  /** The problems the task found, when it is a check (lint errors, ...). */
  readonly problems?: readonly Problem[];
}
export interface TaskOutputEvent {
  readonly event: 'output';
  readonly task: string;
  readonly stream: 'stdout' | 'stderr' | 'log';
  readonly line: string;
}
export interface TaskProgressEvent {
  readonly event: 'progress';
  readonly task: string;
  readonly done: number;
  readonly total?: number;
  readonly message?: string;
}
/** A command refused before anything ran (exit code 2). */
export interface ErrorEvent {
  readonly event: 'error';
  readonly reason: UsageReason | 'internal-error';
  readonly message: string;
  readonly hint?: string;
  /** The error as a problem (same message, fix = hint; see {@link errorProblem}). */
  readonly problem?: Problem;
}
export interface CleanEvent {
  readonly event: 'clean';
  readonly task: string;
  /** Paths removed (or that would be, with dry-run). */
  readonly removed: readonly string[];
  /** Targets left alone because they are outside BUILD_ROOT. */
  readonly refused: readonly string[];
  readonly dryRun: boolean;
  /** The task's clean actions that ran (or would run), as argv or label; absent when none. */
  readonly actions?: readonly string[];
}
export interface ForgetEvent {
  readonly event: 'forget';
  readonly tasks: readonly string[];
}
/** `ignore`: the tasks now ignored. */
export interface IgnoreEvent {
  readonly event: 'ignore';
  readonly tasks: readonly string[];
}
export interface SummaryCounts {
  /** Tasks whose actions ran and succeeded. */
  done: number;
  upToDate: number;
  failed: number;
  /** Not run because a dependency failed (--keep-going). */
  blocked: number;
  /** Would run (dry run). */
  wouldRun: number;
  /** Selected but never reached (stopped after a failure or an interrupt). */
  notRun: number;
  /** Outputs restored from the build cache (present when there were some). */
  cached?: number;
  /** Skipped by `ignore` (itself or a dependency); absent when none. */
  ignored?: number;
}
export interface SummaryEvent {
  readonly event: 'summary';
  readonly exitCode: number;
  readonly counts: SummaryCounts;
  readonly failures: readonly string[];
  readonly interrupted: boolean;
  readonly durationMs: number;
}

export type BuildEvent =
  | BuildStartEvent
  | TaskStartEvent
  | TaskSkipEvent
  | TaskDoneEvent
  | TaskCachedEvent
  | CacheStatsEvent
  | TaskFailEvent
  | TaskOutputEvent
  | TaskProgressEvent
  | ErrorEvent
  | CleanEvent
  | ForgetEvent
  | IgnoreEvent
  | SummaryEvent;

/** A task failure as a problem: kind = reason, subject = the task, fix = the hint. */
export function failureProblem(
  e: Pick<TaskFailEvent, 'task' | 'reason' | 'message' | 'hint'>,
): Problem {
  return problem(e.reason, e.task, e.message, { fix: e.hint });
}

/**
 * A refused command as a problem: kind = reason; a message starting with `file:line: ` gets
 * that as its subject (rendered back as the same text); fix = the hint.
 */
export function errorProblem(e: Pick<ErrorEvent, 'reason' | 'message' | 'hint'>): Problem {
  return problemFromText(e.reason, e.message, { fix: e.hint });
}

/** The event with its `problem` (error and fail events whose emitter did not set it). */
export function withProblem(event: BuildEvent): BuildEvent {
  if (event.event === 'error' && event.problem === undefined)
    return { ...event, problem: errorProblem(event) };
  if (event.event === 'fail' && event.problem === undefined)
    return { ...event, problem: failureProblem(event) };
  return event;
}

/** Receives events; reporters implement it. `close` flushes (called once at the end). */
export interface Reporter {
  emit(event: BuildEvent): void;
  close(): Promise<void>;
}

/** Fans events out to several reporters. */
export function teeReporter(reporters: readonly Reporter[]): Reporter {
  return {
    emit(event) {
      for (const r of reporters) r.emit(event);
    },
    async close() {
      await Promise.all(reporters.map((r) => r.close()));
    },
  };
}
