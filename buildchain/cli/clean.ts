/**
 * `clean [-n] [-c] [-a] [TASK...]`, doit's semantics: removes the targets of the given tasks,
 * and of the task deps of a given group (a task without actions), recursively through groups;
 * `-c/--clean-dep` adds every dependency; `-a/--all` cleans every task; with no task, the
 * default task and all its dependencies (MetalK8s 2.4's `cleandep`). Cleaned tasks are
 * forgotten. Takes the build lock, except with `-n/--dry-run` (read-only).
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
  const names = cleanSelection(args, graph);
  const stateDir = stateDirOf(config);
  const lock = args.dryRun ? undefined : acquireLock(stateDir, 'build or clean');
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
    lock?.release();
  }
}

/** The tasks `clean` works on, in topological order (the cleaner works dependents first). */
export function cleanSelection(
  args: Pick<CliArgs, 'all' | 'cleanDep' | 'tasks'>,
  graph: TaskGraph,
): string[] {
  if (args.all) return graph.closure([...graph.nodes.keys()]);
  if (args.tasks.length === 0) return graph.select([DEFAULT_TASK]);
  const given = graph.resolveAll(args.tasks);
  if (args.cleanDep) return graph.closure(given);
  // doit: a group's task deps are its parts, cleaned with it.
  const chosen = new Set<string>();
  const add = (name: string): void => {
    if (chosen.has(name)) return;
    chosen.add(name);
    const node = graph.get(name);
    if (node.isGroup) for (const d of node.deps) add(d);
  };
  for (const n of given) add(n);
  return graph.closure(given).filter((n) => chosen.has(n));
}
