/**
 * One build on the engine, in process: selects the tasks, takes the BUILD_ROOT lock, runs the
 * schedule against the stored state, saves it and reports the summary. The CLI's `run`
 * command and tests driving real task factories both call {@link runTasks}.
 */
import path from 'node:path';
import { sweepDeadTemps } from '../lib/fs/atomic-write.ts';
import { isAtOrInside, removeInsideSync, resolveReal } from '../lib/fs/fence.ts';
import type { BuildCache } from './cache/build-cache.ts';
import { CacheKeys } from './cache/key.ts';
import { TaskCache } from './cache/task-cache.ts';
import type { Reporter } from './events.ts';
import type { TaskGraph } from './graph.ts';
import { acquireLock } from './lock.ts';
import { runSchedule } from './scheduler.ts';
import { openSession, saveSession, type EngineSession } from './session.ts';
import { StateWriteError } from './state-store.ts';
import type { ToolSpec } from './task.ts';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 3;
export const EXIT_INTERRUPTED = 130;

/** Options of {@link runTasks}. */
export interface RunTasksOptions {
  readonly graph: TaskGraph;
  /** Task names, wildcards or group prefixes (TaskGraph.select); their dependencies run too. */
  readonly tasks: readonly string[];
  /** Engine state directory (fingerprints, lock), under `buildRoot`. */
  readonly stateDir: string;
  /** BUILD_ROOT: temp files of dead builds are swept only inside it. */
  readonly buildRoot: string;
  readonly tools: Readonly<Record<string, ToolSpec>>;
  /** Values of the env keys tasks declare (settings over the process environment). */
  readonly envValues: Readonly<Record<string, string | undefined>>;
  readonly reporter: Reporter;
  readonly signal: AbortSignal;
  /** Parallel tasks, at least 1. */
  readonly workers: number;
  readonly keepGoing: boolean;
  /** Evaluate only (takes no lock, saves no state). */
  readonly dryRun: boolean;
  readonly alwaysMake: boolean;
  readonly verbose: boolean;
  /** Which sources the build uses, for the build-start event. */
  readonly sourcesBanner?: string;
  /** The build cache (BUILD_CACHE); its uploads are waited for before the summary. */
  readonly cache?: BuildCache;
  /** Tasks set aside by `ignore` (engine/ignored.ts): skipped with their dependents. */
  readonly ignored?: ReadonlySet<string>;
}

/**
 * Runs the selected tasks and their dependencies; returns the exit code (0 ok, 1 a task failed
 * or the state could not be saved, 130 interrupted). Throws a UsageError for an unknown task or
 * a lock held by another build (nothing ran).
 */
export async function runTasks(o: RunTasksOptions): Promise<number> {
  const t0 = Date.now();
  const selected = o.graph.select(o.tasks);
  // A dry run only reads the state: it needs no lock.
  const lock = o.dryRun ? undefined : acquireLock(o.stateDir);
  try {
    if (lock !== undefined) sweepTempsOfDeadBuilds(o);
    const session = openSession(o.stateDir, o.graph.root, o.tools);
    o.reporter.emit({
      event: 'build-start',
      command: 'run',
      tasks: selected.length,
      workers: o.workers,
      dryRun: o.dryRun,
      ...(o.sourcesBanner === undefined ? {} : { sources: o.sourcesBanner }),
    });
    const result = await runSchedule({
      graph: o.graph,
      selected,
      workers: o.workers,
      keepGoing: o.keepGoing,
      dryRun: o.dryRun,
      alwaysMake: o.alwaysMake,
      verbose: o.verbose,
      state: session.state,
      hasher: session.hasher,
      tools: session.tools,
      envValues: o.envValues,
      reporter: o.reporter,
      signal: o.signal,
      ...(o.cache === undefined || o.dryRun
        ? {}
        : { cache: taskCache(o, o.cache, session.hasher, session.tools, selected) }),
      ...(o.ignored === undefined ? {} : { ignored: o.ignored }),
    });
    if (o.cache !== undefined && !o.dryRun) {
      await o.cache.drain();
      o.reporter.emit({
        event: 'cache-stats',
        url: o.cache.url,
        mode: o.cache.mode,
        ...o.cache.stats,
      });
    }
    const saved = o.dryRun || (await saveState(session, o.reporter));
    session.state.close();
    const exitCode = result.interrupted
      ? EXIT_INTERRUPTED
      : result.failures.length > 0 || !saved
        ? EXIT_FAILED
        : EXIT_OK;
    o.reporter.emit({
      event: 'summary',
      exitCode,
      counts: result.counts,
      failures: result.failures,
      interrupted: result.interrupted,
      durationMs: Date.now() - t0,
    });
    return exitCode;
  } finally {
    lock?.release();
  }
}

/** The scheduler's hook into the build cache for this run (keys over this run's hasher). */
function taskCache(
  o: RunTasksOptions,
  cache: BuildCache,
  hasher: EngineSession['hasher'],
  tools: EngineSession['tools'],
  selected: readonly string[],
): TaskCache {
  // Keys need the tool versions of the tasks, which a fresh runner has never read: all at
  // once, now, rather than one after another as tasks reach them (`dnf --version` alone
  // takes a quarter of a second), by one shell. A tool that cannot run fails its task as before.
  const names = new Set(selected.flatMap((n) => o.graph.get(n).def.tools ?? []));
  tools.prefetch([...names]);
  const keys = new CacheKeys({
    graph: o.graph,
    buildRoot: o.buildRoot,
    hasher,
    envValues: o.envValues,
    toolVersions: (node) => tools.versionsOf(node.def.tools ?? []),
  });
  // With the lock held, what a killed build left there is nobody's.
  const workDir = path.join(o.stateDir, 'cache-tmp');
  removeInsideSync(o.buildRoot, workDir);
  return new TaskCache({
    cache,
    keys,
    root: o.graph.root,
    buildRoot: o.buildRoot,
    workDir,
    reporter: o.reporter,
    hasher,
  });
}

/** Saves the state; on a disk full (or read-only) reports it (exit 1 follows) instead of crashing. */
async function saveState(session: EngineSession, reporter: Reporter): Promise<boolean> {
  try {
    await saveSession(session);
    return true;
  } catch (err) {
    if (!(err instanceof StateWriteError)) throw err;
    reporter.emit({
      event: 'error',
      reason: 'invalid-env',
      message: err.message,
      ...(err.hint === undefined ? {} : { hint: err.hint }),
    });
    return false;
  }
}

/**
 * With the lock held no other build writes here: removes the temp files left by killed
 * writers (`*.tmp-<pid>[-hex]` of dead pids) in the state directory and in the directories
 * holding the graph's targets, inside BUILD_ROOT only (one readdir each, no tree walk).
 */
function sweepTempsOfDeadBuilds(o: RunTasksOptions): void {
  const buildRoot = resolveReal(o.buildRoot);
  const dirs = new Set<string>([o.stateDir]);
  for (const node of o.graph.nodes.values())
    for (const t of node.targets) dirs.add(path.dirname(t));
  sweepDeadTemps([...dirs].filter((d) => isAtOrInside(buildRoot, resolveReal(d))));
}
