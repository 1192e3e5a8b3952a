/**
 * `ignore TASK...` (doit's): builds skip these tasks, and every task depending on them, with
 * doit's `!!` marker until `forget TASK` drops the mark. Takes the build lock.
 */
import type { BuildConfig } from '../config/config.ts';
import type { Reporter } from '../engine/events.ts';
import type { TaskGraph } from '../engine/graph.ts';
import { readIgnored, writeIgnored } from '../engine/ignored.ts';
import { acquireLock } from '../engine/lock.ts';
import type { CliArgs } from './args.ts';
import { stateDirOf } from './context.ts';

export function ignoreCommand(
  args: CliArgs,
  config: BuildConfig,
  graph: TaskGraph,
  reporter: Reporter,
): number {
  const names = graph.resolveAll(args.tasks);
  const stateDir = stateDirOf(config);
  const lock = acquireLock(stateDir, 'build or ignore');
  try {
    const ignored = readIgnored(stateDir);
    for (const n of names) ignored.add(n);
    writeIgnored(stateDir, ignored);
    reporter.emit({ event: 'ignore', tasks: names });
    return 0;
  } finally {
    lock.release();
  }
}
