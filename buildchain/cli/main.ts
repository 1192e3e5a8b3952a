/**
 * `npm run build [--] [command] [options] [TASK...]`: the only code reading argv and the
 * environment and handling signals (see docs/engine.md). `bin.ts` runs it and sets the exit
 * code; tests import {@link main} and run it in process.
 */
import path from 'node:path';
import type { Reporter } from '../engine/events.ts';
import { UsageError } from '../engine/failures.ts';
import type { Sources } from '../sources/sources.ts';
import { extractVerifyPath, parseArgs, type CliArgs } from './args.ts';
import { cacheCommand, cacheCommandArgs } from './cache.ts';
import { cleanCommand } from './clean.ts';
import { buildGraph, findRoot, loadConfig, loadTasks, makeReporter } from './context.ts';
import { forgetCommand } from './forget.ts';
import { HELP } from './help.ts';
import { infoCommand } from './info.ts';
import { ignoreCommand } from './ignore.ts';
import { listTasks, printList, withStatusAndDeps } from './list.ts';
import { STRACE_MARK_ENV, straceCommand, straceMarking } from './strace.ts';
import { completionScript } from './tabcompletion.ts';
import { EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE, runCommand } from './run.ts';
import { openSources } from './sources.ts';
import { toDefinitionError } from '../engine/definition-errors.ts';
import { usageErrorText } from './settings.ts';

async function dispatch(
  args: CliArgs,
  reporter: Reporter,
  signal: AbortSignal,
  onSources: (s: Sources) => void,
): Promise<number> {
  const config = loadConfig(findRoot());
  const sources = await openSources(config);
  onSources(sources);
  const graph = buildGraph(config, await loadTasks(args, config, sources));
  switch (args.command) {
    case 'run':
      return runCommand(args, config, graph, reporter, signal, sources.describe());
    case 'list':
      printList(
        await withStatusAndDeps(listTasks(graph, args), graph, config, args, signal),
        args.reporter === 'json',
        args.quiet,
      );
      return 0;
    case 'info':
      return infoCommand(args, config, graph, signal);
    case 'clean':
      return cleanCommand(args, config, graph, reporter, signal);
    case 'forget':
      return forgetCommand(args, config, graph, reporter);
    case 'ignore':
      return ignoreCommand(args, config, graph, reporter);
    case 'tabcompletion':
      process.stdout.write(completionScript(args.shell, graph));
      return 0;
    case 'strace':
      return straceCommand(args, config, graph, reporter, signal);
    case 'help':
      process.stdout.write(HELP);
      return 0;
  }
}

function reportError(reporter: Reporter, thrown: unknown, command: string): number {
  // An expected failure (TaskError) raised outside any action, e.g. by a --tasks-module or
  // while opening the sources, is the user's to fix: exit 2 with its hint, no stack trace.
  const err = toDefinitionError(thrown);
  const isUsage = err instanceof UsageError;
  const code = isUsage ? EXIT_USAGE : EXIT_INTERNAL;
  const message = err instanceof Error ? err.message : String(err);
  reporter.emit({
    event: 'error',
    reason: isUsage ? err.reason : 'internal-error',
    message: isUsage ? message : `internal error: ${message}`,
    ...(isUsage && err.hint !== undefined ? { hint: err.hint } : {}),
  });
  if (!isUsage && err instanceof Error && err.stack !== undefined)
    process.stderr.write(`${err.stack}\n`);
  if (command === 'run') {
    reporter.emit({
      event: 'summary',
      exitCode: code,
      counts: { done: 0, upToDate: 0, failed: 0, blocked: 0, wouldRun: 0, notRun: 0 },
      failures: [],
      interrupted: false,
      durationMs: 0,
    });
  }
  return code;
}

/** Called when stdout or stderr turns out to be a closed pipe (set while a command runs). */
let onPipeClosed: (() => void) | undefined;
let pipeGuarded = false;

/**
 * A write to a closed pipe (`./doit.sh list | head`) ends the command quietly: no EPIPE stack
 * trace; the running command stops as on Ctrl-C and exits 0. Installed once per process and
 * kept (an EPIPE may surface after `main` returned: the exit code is then 0 too).
 */
function guardPipes(): void {
  if (pipeGuarded) return;
  pipeGuarded = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
      if (onPipeClosed !== undefined) onPipeClosed();
      else process.exitCode = 0;
    });
  }
}

/**
 * Runs one command of the build CLI and returns its exit code (0 ok, 1 task failed, 2 usage,
 * config or graph error, 3 internal error, 130 interrupted). Reads `process.env` and
 * `process.cwd()`, writes to `process.stdout`/`process.stderr`, and listens to SIGINT/SIGTERM
 * while it runs (the listeners are removed before it returns).
 */
export async function main(argv: readonly string[]): Promise<number> {
  guardPipes();
  // `cache status|prune ...`: the build cache's maintenance commands (cli/cache.ts).
  const cacheArgv = cacheCommandArgs(argv);
  if (cacheArgv !== undefined) return cacheCommand(cacheArgv);
  let args: CliArgs;
  try {
    args = parseArgs(argv);
    const verify = extractVerifyPath(args.tasks);
    if (verify.isoPath !== undefined) {
      // `verify PATH.iso` is `ISO_VERIFY_PATH=PATH verify` (the environment overrides .env).
      process.env.ISO_VERIFY_PATH = path.resolve(verify.isoPath);
      args = { ...args, tasks: verify.tasks };
    }
  } catch (err) {
    const hint = err instanceof UsageError ? err.hint : undefined;
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${usageErrorText({ message, hint })}\n`);
    return EXIT_USAGE;
  }
  if (args.command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  let reporter: Reporter;
  try {
    reporter = await makeReporter(args);
    // The build `strace` runs under strace marks when its task starts and ends (cli/strace.ts).
    const mark = process.env[STRACE_MARK_ENV];
    if (mark !== undefined && mark !== '') reporter = straceMarking(reporter, mark);
  } catch (err) {
    // A --json-log file that cannot be written: a usage error, reported like a bad option.
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${usageErrorText(err)}\n`);
    return EXIT_USAGE;
  }
  const controller = new AbortController();
  const pipe = { closed: false };
  onPipeClosed = () => {
    pipe.closed = true;
    controller.abort();
  };
  let sources: Sources | undefined;
  let signals = 0;
  const onSignal = (): void => {
    signals++;
    controller.abort();
    if (signals > 1) {
      // A second Ctrl-C: stop waiting for actions that ignore the abort.
      void (sources?.stop() ?? Promise.resolve()).finally(() => process.exit(EXIT_INTERRUPTED));
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let code: number;
  try {
    code = await dispatch(args, reporter, controller.signal, (s) => {
      sources = s;
    });
  } catch (err) {
    code = reportError(reporter, err, args.command);
  } finally {
    try {
      await sources?.stop();
    } catch (err) {
      process.stderr.write(
        `warning: stopping sources failed: ${err instanceof Error ? err.message : String(err)}\n`,
      );
    }
    await reporter.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    onPipeClosed = undefined;
  }
  if (pipe.closed) return 0;
  return controller.signal.aborted ? EXIT_INTERRUPTED : code;
}
