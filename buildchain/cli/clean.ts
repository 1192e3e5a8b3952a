/**
 * `clean [-n] [TASK...]`: removes the targets of the given tasks; with no task, of the
 * default task and all its dependencies (doit's cleandep). Cleaned tasks are forgotten.
 */
import type { BuildConfig } from '../config/config.ts';
import { cleanTasks } from '../engine/clean.ts';
import type { Reporter } from '../engine/events.ts';
import type { TaskGraph } from '../engine/graph.ts';
import { acquireLock } from '../engine/lock.ts';
import { StateStore } from '../engine/state-store.ts';
import type { CliArgs } from './args.ts';
import { DEFAULT_TASK, stateDirOf } from './context.ts';

export async function cleanCommand(
  args: CliArgs,
  config: BuildConfig,
  graph: TaskGraph,
  reporter: Reporter,
  signal: AbortSignal,
): Promise<number> {
  const given = new Set(args.tasks.flatMap((t) => graph.resolve(t)));
  // Topological order (the cleaner works dependents first); only the named tasks.
  const names =
    given.size > 0
      ? graph.closure([...given]).filter((n) => given.has(n))
      : graph.select([DEFAULT_TASK]);
  const stateDir = stateDirOf(config);
  const lock = acquireLock(stateDir, 'build or clean');
  try {
    const cleaned = await cleanTasks({
      graph,
      tasks: names,
      buildRoot: config.buildRoot,
      stateDir,
      dryRun: args.dryRun,
      reporter,
      signal,
    });
    if (!args.dryRun && cleaned.length > 0) {
      const state = StateStore.open(stateDir);
      state.forget(cleaned);
      state.save();
    }
    return 0;
  } finally {
    lock.release();
  }
}
