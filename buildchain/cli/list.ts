/**
 * `list [--all] [-p] [--status] [--deps] [-q] [PATTERN...]` (doit's): the tasks with their doc
 * line; `--all` adds subtasks and the aliases (MetalK8s 2.4 names); `--status` prefixes doit's
 * letter (R would run, U up to date, I ignored, E error; read-only: a dry run, no lock);
 * `--deps` lists each task's file deps below it; `-q` prints names only.
 */
import path from 'node:path';
import type { BuildConfig } from '../config/config.ts';
import type { TaskGraph } from '../engine/graph.ts';
import { readIgnored } from '../engine/ignored.ts';
import type { CliArgs } from './args.ts';
import { stateDirOf } from './context.ts';
import { statusLetter, taskStatuses } from './status.ts';

export interface ListedTask {
  readonly name: string;
  readonly doc: string;
  readonly private: boolean;
  /** For an alias: the names it stands for. */
  readonly alias?: readonly string[];
  /** With --status: R, U, I or E (`-` for an alias). */
  readonly status?: string;
  /** With --deps: the file deps, relative to the project root. */
  readonly fileDeps?: readonly string[];
}

const byName = (a: ListedTask, b: ListedTask): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

/** Tasks shown by `list`: top-level public ones; subtasks and aliases with --all; private with -p. */
export function listTasks(
  graph: TaskGraph,
  args: Pick<CliArgs, 'all' | 'private' | 'tasks'>,
): ListedTask[] {
  const names = args.tasks.length > 0 ? graph.resolveAll(args.tasks) : [...graph.nodes.keys()];
  const out: ListedTask[] = [];
  for (const name of names) {
    const node = graph.get(name);
    if (node.isPrivate && !args.private) continue;
    if (args.tasks.length === 0 && name.includes(':') && !args.all) continue;
    out.push({ name, doc: node.def.doc ?? '', private: node.isPrivate });
  }
  if (args.all && args.tasks.length === 0) {
    for (const a of graph.aliases.values()) {
      const alias = a.targets.flatMap((t) => graph.resolve(t));
      out.push({ name: a.name, doc: a.doc ?? `= ${a.targets.join(' ')}`, private: true, alias });
    }
  }
  return out.sort(byName);
}

/** Adds the --status letters and --deps lists to the listed tasks. */
export async function withStatusAndDeps(
  tasks: readonly ListedTask[],
  graph: TaskGraph,
  config: BuildConfig,
  args: Pick<CliArgs, 'status' | 'deps' | 'alwaysMake'>,
  signal: AbortSignal,
): Promise<ListedTask[]> {
  if (!args.status && !args.deps) return [...tasks];
  const real = tasks.filter((t) => t.alias === undefined).map((t) => t.name);
  const statuses = args.status
    ? await taskStatuses(graph, real, config, { alwaysMake: args.alwaysMake, signal })
    : new Map();
  const ignored = args.status ? readIgnored(stateDirOf(config)) : new Set<string>();
  return tasks.map((t) => {
    if (t.alias !== undefined) return args.status ? { ...t, status: '-' } : t;
    const status = ignored.has(t.name) ? 'I' : statusLetter(graph, t.name, statuses);
    const fileDeps = graph.get(t.name).fileDeps.map((f) => path.relative(config.root, f));
    return {
      ...t,
      ...(args.status ? { status } : {}),
      ...(args.deps ? { fileDeps } : {}),
    };
  });
}

/** Prints the list: JSON lines, names only (`quiet`), or doit's `[S ]name  doc` lines. */
export function printList(tasks: readonly ListedTask[], json: boolean, quiet = false): void {
  const out: string[] = [];
  if (json) {
    for (const t of tasks) out.push(`${JSON.stringify({ event: 'task', ...t })}\n`);
  } else {
    const width = Math.min(40, Math.max(0, ...tasks.map((t) => t.name.length)));
    for (const t of tasks) {
      const status = t.status === undefined ? '' : `${t.status} `;
      out.push(
        quiet
          ? `${status}${t.name}\n`
          : `${status}${t.name.padEnd(width)}  ${t.doc}`.trimEnd() + '\n',
      );
      if (t.fileDeps !== undefined) {
        for (const d of t.fileDeps) out.push(` -  ${d}\n`);
        out.push('\n');
      }
    }
  }
  // One write: the lines reach a pipe together, and a closed pipe fails once.
  process.stdout.write(out.join(''));
}
