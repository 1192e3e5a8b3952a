/**
 * `forget [TASK...]`: drops stored states so that the tasks run again, and their `ignore`
 * marks (all tasks when none given).
 */
import type { BuildConfig } from '../config/config.ts';
import type { Reporter } from '../engine/events.ts';
import type { TaskGraph } from '../engine/graph.ts';
import { readIgnored, writeIgnored } from '../engine/ignored.ts';
import { acquireLock } from '../engine/lock.ts';
import { StateStore } from '../engine/state-store.ts';
import type { CliArgs } from './args.ts';
import { stateDirOf } from './context.ts';

export function forgetCommand(
  args: CliArgs,
  config: BuildConfig,
  graph: TaskGraph,
  reporter: Reporter,
): number {
  const stateDir = stateDirOf(config);
  const lock = acquireLock(stateDir, 'build or forget');
  try {
    const state = StateStore.open(stateDir);
    let names: string[];
    let ignored: Set<string>;
    if (args.tasks.length === 0) {
      // Everything: a damaged ignored.json goes without being read.
      names = [...state.tasks.keys()];
      state.forget();
      ignored = new Set();
    } else {
      names = graph.resolveAll(args.tasks);
      state.forget(names);
      ignored = readIgnored(stateDir);
      for (const n of names) ignored.delete(n);
    }
    state.save();
    writeIgnored(stateDir, ignored);
    reporter.emit({ event: 'forget', tasks: names });
    return 0;
  } finally {
    lock.release();
  }
}
