/**
 * Runs the stage tasks of a Solution build on the engine: its graph, scheduler, fingerprints
 * and tool checks, with the state (`.buildchain/`) and the lock under the Solution's work
 * directory. Task failures come back as the failed task's {@link TaskError}.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { TOOL_REGISTRY } from '../../../config/tools.ts';
import type { BuildEvent, Reporter, TaskFailEvent } from '../../../engine/events.ts';
import { TaskGraph } from '../../../engine/graph.ts';
import { acquireLock } from '../../../engine/lock.ts';
import { runSchedule } from '../../../engine/scheduler.ts';
import { openSession, saveSession } from '../../../engine/session.ts';
import { TaskError, type TaskDefinition, type ToolSpec } from '../../../engine/task.ts';
import { sweepDeadTemps } from '../../../lib/fs/atomic-write.ts';
import type { SolutionTools } from './plan.ts';
import { FINAL_STAGE } from './stage-tasks.ts';

/** Options for {@link runStages}. */
export interface RunStagesOptions {
  /** The Solution directory (the graph's root). */
  readonly root: string;
  /** Work directory: the state goes to `<workDir>/.buildchain`. */
  readonly workDir: string;
  readonly tools: SolutionTools;
  /** Receives the `log` lines of the actions (`image X: building`). */
  readonly log?: (line: string) => void;
  /** Receives every engine event too. */
  readonly reporter?: Reporter;
  readonly signal?: AbortSignal;
}

/** What the engine did. */
export interface RunStagesResult {
  /** True when every stage was up to date (no action ran). */
  readonly upToDate: boolean;
}

/** The engine state directory of a Solution build. */
export function solutionStateDir(workDir: string): string {
  return path.join(workDir, '.buildchain');
}

/** Stamps of the pipeline before the engine ran it: no longer read, removed. */
const LEGACY_STAMPS = ['build-key.json', 'image-keys'];

function toolSpecs(t: SolutionTools): Record<string, ToolSpec> {
  const specs: Record<string, ToolSpec> = {};
  for (const name of ['skopeo', 'buildah', 'xorriso'] as const) {
    const entry = TOOL_REGISTRY[name];
    specs[name] = {
      name,
      bin: t[name],
      envKey: entry?.envKey ?? '',
      versionArgs: entry?.versionArgs ?? ['--version'],
    };
  }
  return specs;
}

function failureOf(e: TaskFailEvent): TaskError {
  return new TaskError(e.reason, e.message, {
    hint: e.hint,
    argv: e.argv,
    exitCode: e.exitCode,
    signalName: e.signal,
    stderrTail: e.stderrTail,
  });
}

/** Runs `defs` up to {@link FINAL_STAGE}; throws the first failure, or `aborted`. */
export async function runStages(defs: readonly TaskDefinition[], o: RunStagesOptions): Promise<RunStagesResult> {
  const graph = new TaskGraph(o.root, defs);
  const selected = graph.select([FINAL_STAGE]);
  const stateDir = solutionStateDir(o.workDir);
  const lock = acquireLock(stateDir, 'Solution build');
  try {
    sweepDeadTemps([stateDir, o.workDir]);
    for (const f of LEGACY_STAMPS) await rm(path.join(o.workDir, f), { recursive: true, force: true });
    const session = openSession(stateDir, o.root, toolSpecs(o.tools));
    let failure: TaskFailEvent | undefined;
    const reporter: Reporter = {
      emit(e: BuildEvent) {
        if (e.event === 'fail') failure ??= e;
        if (e.event === 'output' && e.stream === 'log') o.log?.(e.line);
        o.reporter?.emit(e);
      },
      close: () => Promise.resolve(),
    };
    const signal = o.signal ?? new AbortController().signal;
    reporter.emit({ event: 'build-start', command: 'solution build', tasks: selected.length, workers: 1, dryRun: false });
    const t0 = Date.now();
    // One worker: buildah's vfs store is not safe for parallel builds, and the stages are a chain.
    const result = await runSchedule({
      graph,
      selected,
      workers: 1,
      keepGoing: false,
      dryRun: false,
      alwaysMake: false,
      verbose: true,
      state: session.state,
      hasher: session.hasher,
      tools: session.tools,
      envValues: {},
      reporter,
      signal,
    });
    try {
      await saveSession(session);
    } finally {
      session.state.close();
    }
    const exitCode = result.interrupted ? 130 : result.failures.length > 0 ? 1 : 0;
    reporter.emit({ event: 'summary', exitCode, counts: result.counts, failures: result.failures, interrupted: result.interrupted, durationMs: Date.now() - t0 });
    if (result.interrupted) throw new TaskError('aborted', 'interrupted');
    if (failure !== undefined) throw failureOf(failure);
    if (result.failures.length > 0) throw new TaskError('internal-error', `stages failed: ${result.failures.join(', ')}`);
    return { upToDate: result.counts.done === 0 };
  } finally {
    lock.release();
  }
}
