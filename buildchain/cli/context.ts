/**
 * What every command needs: the repository root, the configuration, the task graph, the
 * reporter and the engine state directory.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BuildConfig } from '../config/config.ts';
import { loadConfig } from '../config/load.ts';
import { teeReporter, type Reporter } from '../engine/events.ts';
import { UsageError } from '../engine/failures.ts';
import { TaskGraph } from '../engine/graph.ts';
import { consoleReporter } from '../engine/reporters/console.ts';
import { jsonFileReporter, jsonStreamReporter } from '../engine/reporters/json.ts';
import type { TaskDefinition } from '../engine/task.ts';
import { PACKAGE_ROOT } from '../lib/package-root.ts';
import { createAllTasks } from '../tasks/index.ts';
import type { Sources } from '../sources/sources.ts';
import type { CliArgs } from './args.ts';
import { legacyAliases, RETIRED_NAMES } from './legacy-names.ts';

/** The default task of `run` and `clean`. */
export const DEFAULT_TASK = 'iso';

/** The repository root: the nearest directory at or above cwd holding `.env.example`. */
export function findRoot(start = process.cwd()): string {
  let dir = path.resolve(start);
  for (;;) {
    if (existsSync(path.join(dir, '.env.example'))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return PACKAGE_ROOT;
}

/** Engine state (fingerprints, lock) under BUILD_ROOT. */
export function stateDirOf(config: BuildConfig): string {
  return path.join(config.buildRoot, '.buildchain');
}

/**
 * The reporter of a command: console, live view or JSON on stdout, teed to `--json-log FILE`.
 * Throws a UsageError (exit 2) when the log file cannot be written, before any view starts.
 */
export async function makeReporter(args: CliArgs): Promise<Reporter> {
  const log = args.jsonLog === undefined ? undefined : jsonFileReporter(args.jsonLog);
  let main: Reporter;
  if (args.reporter === 'json') main = jsonStreamReporter();
  else if (process.stdout.isTTY && !args.verbose && args.command === 'run') {
    // listr2 is only loaded for the live view (it costs startup time otherwise).
    const { liveReporter } = await import('../engine/reporters/live.ts');
    main = liveReporter({ quiet: args.quiet });
  } else main = consoleReporter({ quiet: args.quiet, verbose: args.verbose });
  return log === undefined ? main : teeReporter([main, log]);
}

type CreateTasks = (
  config: BuildConfig,
  sources: Sources,
) => TaskDefinition[] | Promise<TaskDefinition[]>;

/** The task definitions: the buildchain's, or those of `--tasks-module` (testing hook). */
export async function loadTasks(
  args: CliArgs,
  config: BuildConfig,
  sources: Sources,
): Promise<TaskDefinition[]> {
  if (args.tasksModule === undefined) return createAllTasks(config, sources);
  const file = path.resolve(args.tasksModule);
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const create = mod.createTasks;
  if (typeof create !== 'function') {
    throw new UsageError('usage', `${file} does not export createTasks(config, sources)`);
  }
  return (create as CreateTasks)(config, sources);
}

/** The task graph, with MetalK8s 2.4's task names as aliases (cli/legacy-names.ts). */
export function buildGraph(config: BuildConfig, defs: readonly TaskDefinition[]): TaskGraph {
  const graph = new TaskGraph(config.root, defs);
  graph.addAliases(() => legacyAliases([...graph.nodes.keys()]));
  graph.addRetired(RETIRED_NAMES);
  return graph;
}

export { loadConfig };
