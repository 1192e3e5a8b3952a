/** `run [TASK...]`: builds the selected tasks (default: iso) and their dependencies. */
import type { Reporter } from '../engine/events.ts';
import type { TaskGraph } from '../engine/graph.ts';
import { acquireLock } from '../engine/lock.ts';
import { runSchedule } from '../engine/scheduler.ts';
import { openSession, saveSession } from '../engine/session.ts';
import type { BuildConfig } from '../config/config.ts';
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
    if (!args.dryRun) await saveSession(session);
    session.state.close();
    const exitCode = result.interrupted ? EXIT_INTERRUPTED : result.failures.length > 0 ? EXIT_FAILED : EXIT_OK;
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
