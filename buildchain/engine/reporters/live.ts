/**
 * Live view on a TTY (listr2): one "build" line whose title shows the counts and the running
 * tasks with their progress, and a bottom bar with the last task lines (doit markers).
 * Failure blocks and the summary print once the view has stopped.
 */
import { Listr } from 'listr2';
import type { BuildEvent, Reporter, TaskFailEvent } from '../events.ts';
import { formatEvent, formatFailure, formatSummary } from './console.ts';

export interface LiveReporterOptions {
  readonly quiet?: boolean;
}

interface ListrLike {
  title: string | undefined;
  output: string | undefined;
}

export function liveReporter(opts: LiveReporterOptions = {}): Reporter {
  const running = new Map<string, string>();
  const failures: TaskFailEvent[] = [];
  let total = 0;
  let finished = 0;
  let handle: ListrLike | undefined;
  let endBuild: (() => void) | undefined;
  let runPromise: Promise<unknown> | undefined;
  let summary = '';
  let header = 'build';

  const refresh = (): void => {
    if (handle === undefined) return;
    const names = [...running.entries()].map(([n, p]) => (p === '' ? n : `${n} ${p}`));
    handle.title = `${header} [${finished}/${total}]${names.length > 0 ? ` ${names.join(', ')}` : ''}`;
  };

  const start = (title: string): void => {
    header = title;
    const listr = new Listr(
      [
        {
          title,
          task: (_ctx, task) =>
            new Promise<void>((resolve) => {
              handle = task;
              endBuild = resolve;
              refresh();
            }),
          rendererOptions: { bottomBar: 5 },
        },
      ],
      { rendererOptions: { collapseSubtasks: false }, exitOnError: false },
    );
    runPromise = listr.run().catch(() => undefined);
  };

  return {
    emit(event: BuildEvent) {
      switch (event.event) {
        case 'build-start':
          total = event.tasks;
          start(`${event.dryRun ? 'dry run' : 'build'}${event.sources === undefined ? '' : ` (sources: ${event.sources})`}`);
          return;
        case 'start':
          running.set(event.task, '');
          break;
        case 'progress':
          running.set(event.task, event.total !== undefined ? `${event.done}/${event.total}` : `${event.done}`);
          break;
        case 'fail':
          failures.push(event);
          running.delete(event.task);
          finished++;
          break;
        case 'done':
        case 'skip':
          running.delete(event.task);
          finished++;
          break;
        case 'summary':
          summary = formatSummary(event);
          endBuild?.();
          return;
        default: {
          const text = formatEvent(event, { quiet: opts.quiet });
          if (text !== undefined) process.stderr.write(`${text}\n`);
          return;
        }
      }
      const line = formatEvent(event, { quiet: opts.quiet });
      if (handle !== undefined && line !== undefined && event.event !== 'fail') handle.output = line;
      refresh();
    },
    async close() {
      endBuild?.();
      await runPromise;
      for (const f of failures) process.stderr.write(`${formatFailure(f)}\n`);
      if (summary !== '') process.stdout.write(`${summary}\n`);
    },
  };
}
