/**
 * What the live view shows for a given build state, without a terminal: the header line
 * (`build (sources: …) [done/total]`), one row per running task, and the doit marker line
 * a finished task leaves in the scrollback. `live.ts` only puts these strings on screen.
 */
import type { BuildEvent } from '../events.ts';
import { formatEvent } from './console.ts';

/** The latest `progress` event of a running task. */
export interface LiveProgress {
  readonly done: number;
  readonly total?: number;
  readonly message?: string;
}

/** A task whose actions are running. */
export interface LiveRunningTask {
  readonly name: string;
  readonly title: string;
  progress?: LiveProgress;
  /** Last output line (only with output events, i.e. verbose runs). */
  lastLine?: string;
}

export interface LiveFrameOptions {
  /** Most rows shown under the header; extra running tasks collapse into `+N more`. */
  readonly maxRows?: number;
  /** Terminal width in columns: longer rows are cut with `…`. */
  readonly width?: number;
}

/** The live area: a header line, then one row per running task (in start order). */
export interface LiveFrame {
  readonly header: string;
  readonly rows: readonly string[];
}

/** Cuts `text` to `width` characters (the last one becoming `…`). */
export function fitWidth(text: string, width: number | undefined): string {
  if (width === undefined || width <= 0 || text.length <= width) return text;
  return width === 1 ? '…' : `${text.slice(0, width - 1)}…`;
}

/** `name — title  3/10 message`, or `name | last output line`. */
export function runningRow(t: LiveRunningTask): string {
  let row = t.title !== '' && t.title !== t.name ? `${t.name} — ${t.title}` : t.name;
  if (t.progress !== undefined) {
    const p = t.progress;
    const count = p.total === undefined ? `${p.done}` : `${p.done}/${p.total}`;
    row += `  ${count}${p.message === undefined || p.message === '' ? '' : ` ${p.message}`}`;
  } else if (t.lastLine !== undefined && t.lastLine !== '') {
    row += ` | ${t.lastLine}`;
  }
  return row;
}

/** The first line of `text`, at most `max` characters. */
function firstLine(text: string, max = 100): string {
  const line = text.split('\n', 1)[0] ?? '';
  return fitWidth(line.trim(), max);
}

/**
 * The build state the live view renders, fed with the engine's events in order. Pure: no
 * terminal, no clock; `apply` returns the history line an event leaves (if any).
 */
export class LiveModel {
  title = 'build';
  total = 0;
  finished = 0;
  failed = 0;
  readonly running = new Map<string, LiveRunningTask>();

  constructor(private readonly quiet = false) {}

  /** Updates the state; returns the marker line to print above the live area, if any. */
  apply(event: BuildEvent): string | undefined {
    switch (event.event) {
      case 'build-start':
        this.title = `${event.dryRun ? 'dry run' : 'build'}${event.sources === undefined ? '' : ` (sources: ${event.sources})`}`;
        this.total = event.tasks;
        return undefined;
      case 'start':
        this.running.set(event.task, { name: event.task, title: event.title });
        return undefined;
      case 'progress': {
        const t = this.running.get(event.task);
        if (t !== undefined)
          t.progress = { done: event.done, total: event.total, message: event.message };
        return undefined;
      }
      case 'output': {
        const t = this.running.get(event.task);
        if (t !== undefined) t.lastLine = event.line;
        // An action's warning stays in the scrollback; other lines only show in the task's row.
        return event.stream === 'log' && event.line.startsWith('warning: ')
          ? formatEvent(event, {})
          : undefined;
      }
      case 'done':
        this.end(event.task);
        return this.quiet ? undefined : `.. ${event.task}`;
      case 'cached':
        this.end(event.task);
        return formatEvent(event, { quiet: this.quiet });
      case 'cache-stats':
        return formatEvent(event, { quiet: this.quiet });
      case 'fail':
        this.end(event.task);
        this.failed++;
        return `!! ${event.task}: ${event.reason} (${firstLine(event.message)})`;
      case 'skip':
        this.end(event.task);
        return formatEvent(event, { quiet: this.quiet });
      case 'error':
        return formatEvent(event, {});
      default:
        // summary, clean, forget: the reporter prints them after the view has stopped.
        return undefined;
    }
  }

  /** The live area for the current state. */
  frame(opts: LiveFrameOptions = {}): LiveFrame {
    const failed = this.failed > 0 ? `, ${this.failed} failed` : '';
    const header = fitWidth(`${this.title} [${this.finished}/${this.total}${failed}]`, opts.width);
    const tasks = [...this.running.values()];
    const max = Math.max(1, opts.maxRows ?? tasks.length);
    const shown = tasks.length > max ? tasks.slice(0, max - 1) : tasks;
    const rows = shown.map((t) => fitWidth(runningRow(t), opts.width));
    if (shown.length < tasks.length) rows.push(`+${tasks.length - shown.length} more running`);
    return { header, rows };
  }

  private end(task: string): void {
    this.running.delete(task);
    this.finished++;
  }
}
