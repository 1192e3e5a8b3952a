/**
 * Live view on a TTY (listr2): a header line (`build (sources: …) [done/total]`) with a
 * spinner, one row per running task with its latest progress, and above it the doit marker
 * line of every finished task, so the scrollback keeps the history. Failure blocks and the
 * summary print once the view has stopped. Not a TTY: the plain console reporter instead.
 * What to show is decided by `LiveModel` (live-rows.ts); this file only drives listr2.
 */
import { writeSync } from 'node:fs';
import { DefaultRenderer, Listr } from 'listr2';
import type { BuildEvent, Reporter, TaskFailEvent } from '../events.ts';
import { consoleReporter, formatFailure, formatSummary } from './console.ts';
import { LiveModel } from './live-rows.ts';

export interface LiveReporterOptions {
  readonly quiet?: boolean;
}

/** The renderer internals `persist` needs (private in listr2's types). */
interface RendererInternals {
  updater?: { clear(): void };
  logger?: { process?: { toStdout(text: string): void } };
}

/**
 * listr2's default renderer plus `persist`: print lines above the live area. Lines sent
 * before the first frame wait for it.
 */
class LiveRenderer extends DefaultRenderer {
  static current: LiveRenderer | undefined;
  private pending: string[] = [];
  private ready = false;

  constructor(...args: ConstructorParameters<typeof DefaultRenderer>) {
    super(...args);
    LiveRenderer.current = this;
  }

  override async render(): Promise<void> {
    await super.render();
    this.ready = true;
    this.flush();
  }

  override end(): void {
    this.flush();
    this.ready = false;
    super.end();
  }

  persist(line: string): void {
    this.pending.push(line);
    if (this.ready) this.flush();
  }

  private flush(): void {
    const self = this as unknown as RendererInternals;
    const toStdout = self.logger?.process?.toStdout.bind(self.logger.process);
    if (this.pending.length === 0 || self.updater === undefined || toStdout === undefined) return;
    self.updater.clear();
    toStdout(this.pending.join('\n'));
    this.pending = [];
    this.update();
  }
}

/** The one listr2 task: its title is the whole live area. */
interface ListrHandle {
  title: string | undefined;
}

const CURSOR_SHOW = '\u001B[?25h';

export function liveReporter(opts: LiveReporterOptions = {}): Reporter {
  // listr2 would pick its line renderer on a pipe; keep the plain output there instead.
  if (!process.stdout.isTTY) return consoleReporter({ quiet: opts.quiet });
  const model = new LiveModel(opts.quiet === true);
  const failures: TaskFailEvent[] = [];
  let handle: ListrHandle | undefined;
  let runPromise: Promise<unknown> | undefined;
  let summary = '';
  let failed = false;
  let ended = false;
  let finish: (() => void) | undefined;
  // A hard exit (second Ctrl-C) skips listr's cleanup: never leave the cursor hidden.
  const onExit = (): void => {
    try {
      writeSync(1, CURSOR_SHOW);
    } catch {
      // stdout already closed: nothing to restore.
    }
  };

  const refresh = (): void => {
    if (handle === undefined) return;
    // `rows` is undefined when stdout stops being a terminal (types say otherwise).
    const height = process.stdout.rows as number | undefined;
    const { header, rows } = model.frame({ maxRows: Math.max(1, (height ?? 24) - 4) });
    // Rows become the title's next lines; listr2 indents and cuts them to the width.
    handle.title = [header, ...rows.map((r) => `  ${r}`)].join('\n');
  };

  const end = (): void => {
    if (ended) return;
    ended = true;
    finish?.();
  };

  const start = (): void => {
    process.once('exit', onExit);
    const listr = new Listr(
      [
        {
          title: model.frame().header,
          task: (_ctx, task) =>
            new Promise<void>((resolve, reject) => {
              handle = task;
              finish = () => {
                // The final frame keeps the header only: nothing runs any more.
                task.title = model.frame().header;
                // A failed build leaves a red header; its message is the header itself.
                if (failed) reject(new Error(model.frame().header));
                else resolve();
              };
              if (ended) finish();
              else refresh();
            }),
        },
      ],
      {
        renderer: LiveRenderer,
        rendererOptions: {
          collapseSubtasks: false,
          formatOutput: 'truncate',
          collapseErrors: true,
        },
        exitOnError: false,
        // The CLI owns SIGINT (abort, stop children, exit 130); listr2's handler would exit 127.
        registerSignalListeners: false,
      },
    );
    runPromise = listr.run().catch(() => undefined);
  };

  const persist = (line: string): void => {
    const r = LiveRenderer.current;
    if (runPromise !== undefined && r !== undefined) r.persist(line);
    else process.stderr.write(`${line}\n`);
  };

  return {
    emit(event: BuildEvent) {
      if (event.event === 'build-start' && runPromise === undefined) {
        model.apply(event);
        start();
        return;
      }
      if (event.event === 'fail') {
        failures.push(event);
        failed = true;
      }
      if (event.event === 'summary') {
        if (event.exitCode !== 0) failed = true;
        // A refused command (exit 2) already printed its error.
        if (event.exitCode !== 2) summary = formatSummary(event);
        end();
        return;
      }
      const line = model.apply(event);
      if (line !== undefined) persist(line);
      refresh();
    },
    async close() {
      end();
      await runPromise;
      LiveRenderer.current = undefined;
      process.off('exit', onExit);
      for (const f of failures) process.stderr.write(`${formatFailure(f)}\n`);
      if (summary !== '') process.stdout.write(`${summary}\n`);
    },
  };
}
