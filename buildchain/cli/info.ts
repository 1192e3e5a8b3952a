/** `info TASK`: the task's definition and why it would run (a dry run of its dependencies). */
import path from 'node:path';
import type { BuildConfig } from '../config/config.ts';
import type { TaskGraph } from '../engine/graph.ts';
import type { CliArgs } from './args.ts';
import { readIgnored } from '../engine/ignored.ts';
import { stateDirOf } from './context.ts';
import { taskStatuses } from './status.ts';

export interface TaskInfo {
  readonly event: 'info';
  readonly task: string;
  readonly doc: string;
  readonly actions: readonly string[];
  readonly fileDeps: readonly string[];
  readonly taskDeps: readonly string[];
  readonly targets: readonly string[];
  readonly tools: readonly string[];
  readonly envKeys: readonly string[];
  /** 'up-to-date', 'would-run', 'group', 'ignored' or 'error' (see `reasons`). */
  readonly status: string;
  readonly reasons: readonly string[];
}

export async function infoCommand(
  args: CliArgs,
  config: BuildConfig,
  graph: TaskGraph,
  signal: AbortSignal,
): Promise<number> {
  const [name] = graph.resolve(args.tasks[0] ?? '');
  const node = graph.get(name ?? '');
  const s = (
    await taskStatuses(graph, [node.name], config, { alwaysMake: args.alwaysMake, signal })
  ).get(node.name);
  const ignored = readIgnored(stateDirOf(config)).has(node.name);
  const status = ignored ? 'ignored' : (s?.status ?? 'unknown');
  const reasons = ignored
    ? ['set aside by `ignore`: `forget` it to build it again']
    : (s?.reasons ?? []);
  const rel = (p: string): string => path.relative(config.root, p) || '.';
  const info: TaskInfo = {
    event: 'info',
    task: node.name,
    doc: node.def.doc ?? '',
    actions: (node.def.actions ?? []).map((a) =>
      a.kind === 'command' ? a.argv.join(' ') : `fn: ${a.label}`,
    ),
    fileDeps: node.fileDeps.map(rel),
    taskDeps: node.deps,
    targets: node.targets.map(rel),
    tools: node.def.tools ?? [],
    envKeys: node.def.envKeys ?? [],
    status,
    reasons,
  };
  process.stdout.write(args.reporter === 'json' ? `${JSON.stringify(info)}\n` : formatInfo(info));
  return 0;
}

function section(title: string, items: readonly string[]): string[] {
  if (items.length === 0) return [];
  const shown = items.slice(0, 50).map((i) => `  - ${i}`);
  if (items.length > 50) shown.push(`  ... and ${items.length - 50} more`);
  return [`${title}:`, ...shown];
}

export function formatInfo(i: TaskInfo): string {
  const statusLine =
    i.status === 'would-run'
      ? 'status: would run, because:'
      : i.status === 'error'
        ? 'status: error:'
        : `status: ${i.status}`;
  return [
    `${i.task}${i.doc !== '' ? `: ${i.doc}` : ''}`,
    ...section('actions', i.actions),
    ...section('file deps', i.fileDeps),
    ...section('task deps', i.taskDeps),
    ...section('targets', i.targets),
    ...section('tools', i.tools),
    ...section('env keys', i.envKeys),
    statusLine,
    ...i.reasons.map((r) => `  - ${r}`),
    '',
  ].join('\n');
}
