/**
 * Runs the stage tasks of a Solution build on the engine (runTasks: graph, lock, scheduler,
 * fingerprints, tool checks, state save), with the state (`.buildchain/`) and the lock under
 * the Solution's work directory. Task failures come back as the failed task's {@link TaskError};
 * a lock held by another build is the engine's UsageError (exit 2).
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { TOOL_REGISTRY } from '../../../config/tools.ts';
import type {
  BuildEvent,
  ErrorEvent,
  Reporter,
  SummaryCounts,
  TaskFailEvent,
} from '../../../engine/events.ts';
import { TaskGraph } from '../../../engine/graph.ts';
import { EXIT_INTERRUPTED, EXIT_OK, runTasks } from '../../../engine/run-tasks.ts';
import { TaskError, type TaskDefinition, type ToolSpec } from '../../../engine/task.ts';
import type { SolutionTools } from './plan.ts';
import { FINAL_STAGE } from './stage-tasks.ts';

/** Options for {@link runStages}. */
export interface RunStagesOptions {
  /** The Solution directory (the graph's root). */
  readonly root: string;
  /** Work directory: the state goes to `<workDir>/.buildchain`. */
  readonly workDir: string;
  readonly tools: SolutionTools;
  /** The stage whose selection runs the build (default {@link FINAL_STAGE}). */
  readonly final?: string;
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
  for (const name of ['skopeo', 'buildah', 'xorriso', 'gpg'] as const) {
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

/** Runs `defs` up to {@link FINAL_STAGE} with the engine's runTasks; throws the first failure, or `aborted`. */
export async function runStages(
  defs: readonly TaskDefinition[],
  o: RunStagesOptions,
): Promise<RunStagesResult> {
  let failure: TaskFailEvent | undefined;
  let stateError: ErrorEvent | undefined;
  let counts: SummaryCounts | undefined;
  const reporter: Reporter = {
    emit(e: BuildEvent) {
      if (e.event === 'fail') failure ??= e;
      if (e.event === 'error') stateError ??= e;
      if (e.event === 'summary') counts = e.counts;
      if (e.event === 'output' && e.stream === 'log') o.log?.(e.line);
      o.reporter?.emit(e);
    },
    close: () => Promise.resolve(),
  };
  const code = await runTasks({
    graph: new TaskGraph(o.root, defs),
    tasks: [o.final ?? FINAL_STAGE],
    stateDir: solutionStateDir(o.workDir),
    // Temps of killed builds are swept inside the work directory only (never beside a -o ISO).
    buildRoot: o.workDir,
    tools: toolSpecs(o.tools),
    envValues: {},
    reporter,
    signal: o.signal ?? new AbortController().signal,
    // One worker: buildah's vfs store is not safe for parallel builds, and the stages are a chain.
    workers: 1,
    keepGoing: false,
    dryRun: false,
    alwaysMake: false,
    // Every log line of the actions reaches `o.log` (command output is not forwarded).
    verbose: true,
  });
  if (code === EXIT_INTERRUPTED) throw new TaskError('aborted', 'interrupted');
  if (failure !== undefined) throw failureOf(failure);
  if (stateError !== undefined)
    throw new TaskError('invalid-input', stateError.message, { hint: stateError.hint });
  if (code !== EXIT_OK)
    throw new TaskError(
      'internal-error',
      `the Solution build ended with exit code ${String(code)}`,
    );
  for (const f of LEGACY_STAMPS)
    await rm(path.join(o.workDir, f), { recursive: true, force: true });
  return { upToDate: counts?.done === 0 };
}
