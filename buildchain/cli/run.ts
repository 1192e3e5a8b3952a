/** `run [TASK...]`: builds the selected tasks (default: iso) and their dependencies. */
import type { Reporter } from '../engine/events.ts';
import type { TaskGraph } from '../engine/graph.ts';
import { setActiveBuildCache } from '../engine/cache/build-cache.ts';
import { runTasks } from '../engine/run-tasks.ts';
import type { BuildConfig } from '../config/config.ts';
import { readIgnored } from '../engine/ignored.ts';
import type { CliArgs } from './args.ts';
import { buildCacheOf } from './cache.ts';
import { DEFAULT_TASK, stateDirOf } from './context.ts';

export {
  EXIT_FAILED,
  EXIT_INTERNAL,
  EXIT_INTERRUPTED,
  EXIT_OK,
  EXIT_USAGE,
} from '../engine/run-tasks.ts';

/** Builds the tasks (see {@link runTasks}); ignored tasks (`ignore`) are skipped with `!!`. */
export async function runCommand(
  args: CliArgs,
  config: BuildConfig,
  graph: TaskGraph,
  reporter: Reporter,
  signal: AbortSignal,
  sourcesBanner?: string,
): Promise<number> {
  const stateDir = stateDirOf(config);
  // The build cache (BUILD_CACHE): cacheable tasks, and the blob store through the active cache.
  const cache = args.dryRun ? undefined : buildCacheOf(config, signal);
  setActiveBuildCache(cache);
  try {
    return await runTasks({
      graph,
      tasks: args.tasks.length > 0 ? args.tasks : [DEFAULT_TASK],
      stateDir,
      buildRoot: config.buildRoot,
      tools: config.tools,
      envValues: { ...process.env, ...config.env },
      reporter,
      signal,
      workers: args.workers,
      keepGoing: args.keepGoing,
      dryRun: args.dryRun,
      alwaysMake: args.alwaysMake,
      verbose: args.verbose,
      ...(sourcesBanner === undefined ? {} : { sourcesBanner }),
      ignored: readIgnored(stateDir),
      ...(cache === undefined ? {} : { cache }),
    });
  } finally {
    setActiveBuildCache(undefined);
  }
}
