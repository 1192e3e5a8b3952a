/** `run [TASK...]`: builds the selected tasks (default: iso) and their dependencies. */
import path from 'node:path';
import type { Reporter } from '../engine/events.ts';
import type { TaskGraph } from '../engine/graph.ts';
import { acquireLock } from '../engine/lock.ts';
import { runSchedule } from '../engine/scheduler.ts';
import { openSession, saveSession, type EngineSession } from '../engine/session.ts';
import { StateWriteError } from '../engine/state-store.ts';
import type { BuildConfig } from '../config/config.ts';
import { sweepDeadTemps } from '../lib/fs/atomic-write.ts';
import { isAtOrInside, resolveReal } from '../lib/fs/fence.ts';
import type { CliArgs } from './args.ts';
import { DEFAULT_TASK, stateDirOf } from './context.ts';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 3;
export const EXIT_INTERRUPTED = 130;

export async function runCommand(
  args: CliArgs,
  config: BuildConfig,
  graph: TaskGraph,
  reporter: Reporter,
  signal: AbortSignal,
  sourcesBanner?: string,
): Promise<number> {
  const t0 = Date.now();
  const selected = graph.select(args.tasks.length > 0 ? args.tasks : [DEFAULT_TASK]);
  const stateDir = stateDirOf(config);
  // A dry run only reads the state: it needs no lock.
  const lock = args.dryRun ? undefined : acquireLock(stateDir);
  try {
    if (lock !== undefined) sweepTempsOfDeadBuilds(config, graph, stateDir);
    const session = openSession(stateDir, config.root, config.tools);
    reporter.emit({
      event: 'build-start',
      command: 'run',
      tasks: selected.length,
      workers: args.workers,
      dryRun: args.dryRun,
      ...(sourcesBanner === undefined ? {} : { sources: sourcesBanner }),
    });
    const result = await runSchedule({
      graph,
      selected,
      workers: args.workers,
      keepGoing: args.keepGoing,
      dryRun: args.dryRun,
      alwaysMake: args.alwaysMake,
      verbose: args.verbose,
      state: session.state,
      hasher: session.hasher,
      tools: session.tools,
      envValues: { ...process.env, ...config.env },
      reporter,
      signal,
    });
    const saved = args.dryRun || (await saveState(session, reporter));
    session.state.close();
    const exitCode = result.interrupted
      ? EXIT_INTERRUPTED
      : result.failures.length > 0 || !saved
        ? EXIT_FAILED
        : EXIT_OK;
    reporter.emit({
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

/** Saves the state; on a disk full (or read-only) reports it (exit 1 follows) instead of crashing. */
async function saveState(session: EngineSession, reporter: Reporter): Promise<boolean> {
  try {
    await saveSession(session);
    return true;
  } catch (err) {
    if (!(err instanceof StateWriteError)) throw err;
    reporter.emit({ event: 'error', reason: 'invalid-env', message: err.message, ...(err.hint === undefined ? {} : { hint: err.hint }) });
    return false;
  }
}

/**
 * With the lock held no other build writes here: removes the temp files left by killed
 * writers (`*.tmp-<pid>[-hex]` of dead pids) in the state directory and in the directories
 * holding the graph's targets, inside BUILD_ROOT only (one readdir each, no tree walk).
 */
function sweepTempsOfDeadBuilds(config: BuildConfig, graph: TaskGraph, stateDir: string): void {
  const buildRoot = resolveReal(config.buildRoot);
  const dirs = new Set<string>([stateDir]);
  for (const node of graph.nodes.values()) for (const t of node.targets) dirs.add(path.dirname(t));
  sweepDeadTemps([...dirs].filter((d) => isAtOrInside(buildRoot, resolveReal(d))));
}
