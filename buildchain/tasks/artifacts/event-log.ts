/**
 * Reads the engine's JSON event log (`npm run build -- --json-log FILE ...`, one event per
 * line, see buildchain/engine/events.ts) into per-task durations, local hits (up to date) and
 * tasks restored from the build cache (`cached` events). Pure.
 */
import type { BuildReport, ReportTask } from './report-types.ts';

interface LogEvent {
  readonly event?: string;
  readonly task?: string;
  readonly reason?: string;
  readonly durationMs?: number;
  readonly bytes?: number;
}

function parseLines(text: string): LogEvent[] {
  const events: LogEvent[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const value: unknown = JSON.parse(line);
      if (typeof value === 'object' && value !== null) events.push(value);
    } catch {
      // a line cut by an interrupted build: ignore it
    }
  }
  return events;
}

/**
 * True when the log is the one being written by the running build: it holds the `start`
 * event of `runningTask` after its last `build-start`. A log left by an earlier build is not.
 */
export function isCurrentLog(text: string, runningTask: string): boolean {
  const events = parseLines(text);
  const lastBuild = events.map((e) => e.event).lastIndexOf('build-start');
  return events
    .slice(Math.max(lastBuild, 0))
    .some((e) => e.event === 'start' && e.task === runningTask);
}

/** Per-task outcome of the last build in the log (tasks in first-seen order). */
export function summarizeEventLog(text: string): NonNullable<BuildReport['build']> {
  const events = parseLines(text);
  const lastBuild = events.map((e) => e.event).lastIndexOf('build-start');
  const tasks = new Map<string, ReportTask>();
  for (const e of events.slice(Math.max(lastBuild, 0))) {
    if (e.task === undefined) continue;
    const durationMs = typeof e.durationMs === 'number' ? e.durationMs : 0;
    if (e.event === 'start') tasks.set(e.task, { task: e.task, status: 'running', durationMs: 0 });
    else if (e.event === 'done') tasks.set(e.task, { task: e.task, status: 'done', durationMs });
    else if (e.event === 'fail') tasks.set(e.task, { task: e.task, status: 'failed', durationMs });
    else if (e.event === 'cached') {
      const bytes = typeof e.bytes === 'number' ? e.bytes : 0;
      tasks.set(e.task, { task: e.task, status: 'restored', durationMs, cacheBytes: bytes });
    } else if (e.event === 'skip') {
      tasks.set(e.task, {
        task: e.task,
        status: e.reason === 'up-to-date' ? 'up-to-date' : 'skipped',
        durationMs: 0,
      });
    }
  }
  const list = [...tasks.values()];
  const count = (s: ReportTask['status']): number => list.filter((t) => t.status === s).length;
  return {
    tasks: list,
    ran: count('done'),
    upToDate: count('up-to-date'),
    restored: count('restored'),
    failed: count('failed'),
    totalMs: list.reduce((sum, t) => sum + t.durationMs, 0),
  };
}
