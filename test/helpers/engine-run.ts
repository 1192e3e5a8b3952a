/**
 * Runs real task definitions through the engine in this process ({@link runTasks}: graph,
 * scheduler, fingerprints against a state directory under BUILD_ROOT, declared env), as
 * `npm run build -- -v TASK...` would with these definitions: a missing task dependency, an
 * undeclared target or a task that is wrongly up to date shows as it would in a build.
 */
import path from 'node:path';
import type { BuildConfig } from '../../buildchain/config/config.ts';
import type { BuildEvent, Reporter } from '../../buildchain/engine/events.ts';
import { TaskGraph } from '../../buildchain/engine/graph.ts';
import { runTasks } from '../../buildchain/engine/run-tasks.ts';
import type { TaskDefinition } from '../../buildchain/engine/task.ts';

/** What one engine run reported. */
export interface EngineRun {
  /** 0 ok, 1 a task failed, 130 interrupted. */
  readonly exitCode: number;
  readonly events: readonly BuildEvent[];
  /** Tasks whose actions ran, in start order. */
  readonly ran: readonly string[];
  /** Every line the actions logged or printed, as `task: line`. */
  readonly logs: readonly string[];
  /** The lines the function actions logged (`ctx.log`), as they are, in order. */
  readonly logLines: readonly string[];
  /** The fail and error events, as `task: reason: message` and their stderr tail, for messages. */
  readonly failures: readonly string[];
}

/** Options of {@link runOnEngine}. */
export interface EngineRunOptions {
  readonly workers?: number;
  readonly alwaysMake?: boolean;
  readonly signal?: AbortSignal;
}

/**
 * Runs `tasks` (and their dependencies) of `defs` with `config` (its root, BUILD_ROOT, tools
 * and settings); the state persists in `<BUILD_ROOT>/.buildchain` from one call to the next.
 */
export async function runOnEngine(
  config: BuildConfig,
  defs: readonly TaskDefinition[],
  tasks: readonly string[],
  opts: EngineRunOptions = {},
): Promise<EngineRun> {
  const events: BuildEvent[] = [];
  const reporter: Reporter = {
    emit: (e) => {
      events.push(e);
    },
    close: () => Promise.resolve(),
  };
  const exitCode = await runTasks({
    graph: new TaskGraph(config.root, defs),
    tasks,
    stateDir: path.join(config.buildRoot, '.buildchain'),
    buildRoot: config.buildRoot,
    tools: config.tools,
    envValues: { ...process.env, ...config.env },
    reporter,
    signal: opts.signal ?? new AbortController().signal,
    workers: opts.workers ?? 1,
    keepGoing: false,
    dryRun: false,
    alwaysMake: opts.alwaysMake ?? false,
    verbose: true,
  });
  const ran: string[] = [];
  const logs: string[] = [];
  const logLines: string[] = [];
  const failures: string[] = [];
  for (const e of events) {
    if (e.event === 'start') ran.push(e.task);
    else if (e.event === 'output') {
      logs.push(`${e.task}: ${e.line}`);
      if (e.stream === 'log') logLines.push(e.line);
    } else if (e.event === 'fail')
      failures.push([`${e.task}: ${e.reason}: ${e.message}`, ...(e.stderrTail ?? [])].join('\n  '));
    else if (e.event === 'error') failures.push(`${e.reason}: ${e.message}`);
  }
  return { exitCode, events, ran, logs, logLines, failures };
}
