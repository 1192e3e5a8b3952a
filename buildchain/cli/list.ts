/** `list [--all] [--private] [PATTERN...]`: the tasks with their doc line. */
import type { TaskGraph } from '../engine/graph.ts';
import type { CliArgs } from './args.ts';

export interface ListedTask {
  readonly name: string;
  readonly doc: string;
  readonly private: boolean;
}

/** Tasks shown by `list`: top-level public ones; subtasks with --all; private with --private. */
export function listTasks(
  graph: TaskGraph,
  args: Pick<CliArgs, 'all' | 'private' | 'tasks'>,
): ListedTask[] {
  const names =
    args.tasks.length > 0
      ? [...new Set(args.tasks.flatMap((t) => graph.resolve(t)))]
      : [...graph.nodes.keys()];
  const out: ListedTask[] = [];
  for (const name of names) {
    const node = graph.get(name);
    if (node.isPrivate && !args.private) continue;
    if (args.tasks.length === 0 && name.includes(':') && !args.all) continue;
    out.push({ name, doc: node.def.doc ?? '', private: node.isPrivate });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function printList(tasks: readonly ListedTask[], json: boolean): void {
  if (json) {
    for (const t of tasks) process.stdout.write(`${JSON.stringify({ event: 'task', ...t })}\n`);
    return;
  }
  const width = Math.min(40, Math.max(0, ...tasks.map((t) => t.name.length)));
  for (const t of tasks) process.stdout.write(`${t.name.padEnd(width)}  ${t.doc}`.trimEnd() + '\n');
}
