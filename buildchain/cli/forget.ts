/** `forget [TASK...]`: drops stored states so that the tasks run again (all when none given). */
import type { BuildConfig } from '../config/config.ts';
import type { Reporter } from '../engine/events.ts';
import type { TaskGraph } from '../engine/graph.ts';
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
    if (args.tasks.length === 0) {
      names = [...state.tasks.keys()];
      state.forget();
    } else {
      names = [...new Set(args.tasks.flatMap((t) => graph.resolve(t)))];
      state.forget(names);
    }
    state.save();
    reporter.emit({ event: 'forget', tasks: names });
    return 0;
  } finally {
    lock.release();
  }
}
