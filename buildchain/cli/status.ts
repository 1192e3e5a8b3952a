/**
 * What a build would do with tasks, without building (read-only: no lock, no state written):
 * a dry run of the tasks and their dependencies, as `info` and `list --status` show it.
 */
import type { BuildConfig } from '../config/config.ts';
import type { BuildEvent } from '../engine/events.ts';
import type { TaskGraph } from '../engine/graph.ts';
import { runSchedule } from '../engine/scheduler.ts';
import { openSession } from '../engine/session.ts';
import { stateDirOf } from './context.ts';

/** `up-to-date`, `would-run`, `group` (a group whose parts are all up to date) or `error`. */
export interface TaskStatus {
  readonly status: 'up-to-date' | 'would-run' | 'group' | 'error';
  readonly reasons: readonly string[];
}

/** The status of each of `names` (and of their dependencies). */
export async function taskStatuses(
  graph: TaskGraph,
  names: readonly string[],
  config: BuildConfig,
  opts: { readonly alwaysMake: boolean; readonly signal: AbortSignal },
): Promise<Map<string, TaskStatus>> {
  const session = openSession(stateDirOf(config), config.root, config.tools);
  const events: BuildEvent[] = [];
  try {
    await runSchedule({
      graph,
      selected: graph.closure(names),
      workers: 1,
      keepGoing: true,
      dryRun: true,
      alwaysMake: opts.alwaysMake,
      verbose: false,
      state: session.state,
      hasher: session.hasher,
      tools: session.tools,
      envValues: { ...process.env, ...config.env },
      reporter: { emit: (e) => events.push(e), close: () => Promise.resolve() },
      signal: opts.signal,
    });
  } finally {
    session.state.close();
  }
  const out = new Map<string, TaskStatus>();
  for (const e of events) {
    if (e.event === 'skip') {
      const status =
        e.reason === 'dry-run'
          ? 'would-run'
          : e.reason === 'no-actions'
            ? 'group'
            : e.reason === 'up-to-date'
              ? 'up-to-date'
              : 'error';
      out.set(e.task, { status, reasons: e.reasons });
    } else if (e.event === 'fail') out.set(e.task, { status: 'error', reasons: [e.message] });
  }
  return out;
}

/** doit's status letter: R runs, U up to date (a group: all its deps are), E error. */
export function statusLetter(
  graph: TaskGraph,
  name: string,
  statuses: ReadonlyMap<string, TaskStatus>,
  seen = new Set<string>(),
): 'R' | 'U' | 'E' {
  const s = statuses.get(name);
  if (s === undefined || s.status === 'error') return 'E';
  if (s.status === 'would-run') return 'R';
  if (s.status === 'up-to-date') return 'U';
  seen.add(name);
  let letter: 'R' | 'U' | 'E' = 'U';
  for (const d of graph.get(name).deps) {
    if (seen.has(d)) continue;
    const l = statusLetter(graph, d, statuses, seen);
    if (l === 'E') return 'E';
    if (l === 'R') letter = 'R';
  }
  return letter;
}
