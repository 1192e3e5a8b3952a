/**
 * Plain console reporter (non-TTY, CI, or --reporter console on a pipe): one line per task
 * with doit's markers (`.. ` runs, `-- ` up to date, `!! ` not run because of a failed
 * dependency), a block per failure, and a summary line.
 */
import { formatProblem } from '../../lib/problem.ts';
import {
  errorProblem,
  type BuildEvent,
  type Reporter,
  type SummaryEvent,
  type TaskFailEvent,
} from '../events.ts';
import { unreachable } from '../failures.ts';
import { isBulkEvent, LineBatch } from './line-batch.ts';

export interface ConsoleReporterOptions {
  readonly out?: NodeJS.WritableStream;
  readonly err?: NodeJS.WritableStream;
  /** Hide up-to-date tasks and the run lines; failures and the summary still show. */
  readonly quiet?: boolean;
  /** Print why tasks run. */
  readonly verbose?: boolean;
}

/** The failure block shown on the console (also used by the live view). */
export function formatFailure(e: TaskFailEvent): string {
  const lines = [`FAILED ${e.task}: ${e.reason}`, `  ${e.message}`];
  if (e.hint !== undefined) lines.push(`  hint: ${e.hint}`);
  if (e.argv !== undefined)
    lines.push(
      `  argv: ${e.argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ')}`,
    );
  if (e.exitCode !== undefined) lines.push(`  exit code: ${e.exitCode}`);
  if (e.signal !== undefined) lines.push(`  signal: ${e.signal}`);
  if (e.stderrTail !== undefined && e.stderrTail.length > 0) {
    lines.push('  stderr (last lines):', ...e.stderrTail.map((l) => `    ${l}`));
  }
  return lines.join('\n');
}

export function formatSummary(e: SummaryEvent): string {
  const c = e.counts;
  const parts = [`${c.done} run`, `${c.upToDate} up to date`];
  if ((c.cached ?? 0) > 0) parts.push(`${c.cached ?? 0} restored from cache`);
  if (c.wouldRun > 0) parts.push(`${c.wouldRun} would run`);
  if (c.failed > 0) parts.push(`${c.failed} failed`);
  if (c.blocked > 0) parts.push(`${c.blocked} blocked`);
  if (c.notRun > 0) parts.push(`${c.notRun} not run`);
  if ((c.ignored ?? 0) > 0) parts.push(`${c.ignored ?? 0} ignored`);
  const head = e.interrupted ? 'build interrupted' : e.exitCode === 0 ? 'build ok' : 'build failed';
  return `${head}: ${parts.join(', ')} in ${(e.durationMs / 1000).toFixed(1)}s`;
}

function mbText(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** At most `max` reasons on one console line (the JSON events keep them all). */
function shortReasons(reasons: readonly string[], max = 3): string {
  const shown = reasons.slice(0, max).join('; ');
  return reasons.length > max ? `${shown}; +${reasons.length - max} more` : shown;
}

/** Text for one event, or undefined when the event prints nothing. */
export function formatEvent(event: BuildEvent, opts: ConsoleReporterOptions): string | undefined {
  switch (event.event) {
    case 'build-start': {
      // The banner always names the sources: a stand-in build must never pass for a release.
      const sources = event.sources === undefined ? '' : `sources: ${event.sources}`;
      if (opts.verbose === true)
        return `${event.command}: ${event.tasks} tasks, ${event.workers} worker(s)${sources === '' ? '' : `, ${sources}`}`;
      return opts.quiet === true || sources === '' ? undefined : sources;
    }
    case 'start':
      if (opts.quiet === true) return undefined;
      return opts.verbose === true
        ? `.. ${event.task} (${shortReasons(event.reasons)})`
        : `.. ${event.task}`;
    case 'skip':
      if (event.reason === 'up-to-date')
        return opts.quiet === true ? undefined : `-- ${event.task}`;
      if (event.reason === 'dry-run')
        return `.. ${event.task} (would run: ${shortReasons(event.reasons)})`;
      if (event.reason === 'blocked' || event.reason === 'ignored')
        return `!! ${event.task} (${event.reasons.join('; ')})`;
      return undefined;
    case 'done':
      return opts.verbose === true
        ? `   ${event.task} done in ${(event.durationMs / 1000).toFixed(1)}s`
        : undefined;
    case 'cached':
      return opts.quiet === true ? undefined : `<< ${event.task} (restored from cache)`;
    case 'cache-stats':
      return opts.quiet === true
        ? undefined
        : `cache ${event.url} (${event.mode}): ${event.tasksRestored} restored, ${event.tasksSaved} saved, ${event.tasksMissed} missed; blobs ${event.blobsFromCache} from cache (${mbText(event.blobBytesFromCache)}), ${event.blobsFromUpstream} from upstream (${mbText(event.blobBytesFromUpstream)}), ${event.blobsUploaded} uploaded (${mbText(event.blobBytesUp)}), ${event.blobsMounted} mounted (${mbText(event.blobBytesMounted)})`;
    case 'fail':
      return formatFailure(event);
    case 'output':
      return `   ${event.task} | ${event.line}`;
    case 'progress':
      return undefined;
    case 'error':
      // The problem's `subject: message`, then its fix as the hint line.
      return `error: ${formatProblem(event.problem ?? errorProblem(event), { fixPrefix: '  hint: ' })}`;
    case 'clean':
      return (
        [
          ...(event.actions ?? []).map(
            (a) => `${event.dryRun ? 'would run' : 'ran'} ${a} (${event.task})`,
          ),
          ...event.removed.map(
            (p) => `${event.dryRun ? 'would remove' : 'removed'} ${p} (${event.task})`,
          ),
          ...event.refused.map((p) => `!! not removing ${p} (${event.task}): outside BUILD_ROOT`),
        ].join('\n') || undefined
      );
    case 'forget':
      return `forgot ${event.tasks.length} task(s)`;
    case 'ignore':
      return event.tasks.map((t) => `ignoring ${t}`).join('\n') || undefined;
    case 'summary':
      // A refused command (exit 2) already printed its error.
      if (event.exitCode === 2 || (opts.quiet === true && event.exitCode === 0)) return undefined;
      return formatSummary(event);
    default:
      return unreachable(event);
  }
}

export function consoleReporter(opts: ConsoleReporterOptions = {}): Reporter {
  const out = opts.out ?? process.stdout;
  const err = opts.err ?? process.stderr;
  const lines = new LineBatch(out);
  return {
    emit(event) {
      const text = formatEvent(event, opts);
      if (text === undefined) return;
      if (isBulkEvent(event)) lines.later(`${text}\n`);
      else lines.now(`${text}\n`, event.event === 'fail' || event.event === 'error' ? err : out);
    },
    close: () => {
      lines.flush();
      return Promise.resolve();
    },
  };
}
