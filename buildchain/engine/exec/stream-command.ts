/**
 * A command whose stdout the caller consumes as a stream (the ISO writer pipes the image it
 * prints to a file while hashing it). Same guarantees as runCommand: argv only, its own
 * process group killed as a group on abort or on expiry of its time limit.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { terminateGroup } from './process-group.ts';
import { defaultCommandTimeout, KILL_GRACE_MS } from './run-command.ts';
import { TaskError } from '../task.ts';

/** Lines of stderr a {@link StreamingCommand} keeps. */
const STDERR_KEPT_LINES = 40;

/** Options for {@link startStreamingCommand}. */
export interface StreamCommandOptions {
  /** Kills the command's group (SIGTERM) when aborted. */
  readonly signal?: AbortSignal;
  /** Called for each stderr line as it arrives. */
  readonly onStderrLine?: (line: string) => void;
  /** Time limit (ms; 0: none). Default: COMMAND_TIMEOUT. */
  readonly timeoutMs?: number;
}

/** How a streamed command ended. */
export interface StreamExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** True when its time limit killed it. */
  readonly timedOut: boolean;
}

/** A running command: read `stdout`, then await `exited`; call `stop` in a `finally`. */
export interface StreamingCommand {
  readonly stdout: Readable;
  /** Resolves when the command has exited; rejects when it could not start (ENOENT...). */
  readonly exited: Promise<StreamExit>;
  /** The last 40 lines of stderr so far. */
  readonly stderrTail: readonly string[];
  /** Kills the group (SIGTERM, SIGKILL after a grace period) if still running. Idempotent. */
  stop(): void;
}

/** Starts `argv` with stdin closed and stdout piped to the caller. */
export function startStreamingCommand(
  argv: readonly string[],
  opts: StreamCommandOptions = {},
): StreamingCommand {
  const [bin, ...args] = argv;
  if (bin === undefined || bin === '') throw new TaskError('internal-error', 'empty argv');
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const stderrTail = collectLines(child.stderr, opts.onStderrLine);
  let timedOut = false;
  let killTimer: NodeJS.Timeout | undefined;
  const isRunning = (): boolean => child.exitCode === null && child.signalCode === null;
  const stop = (): void => {
    if (child.pid === undefined || killTimer !== undefined || !isRunning()) return;
    killTimer = terminateGroup(child.pid, KILL_GRACE_MS);
  };
  const limitMs = opts.timeoutMs ?? defaultCommandTimeout();
  const limit =
    limitMs > 0
      ? setTimeout(() => {
          timedOut = true;
          stop();
        }, limitMs)
      : undefined;
  limit?.unref();
  opts.signal?.addEventListener('abort', stop, { once: true });
  const exited = new Promise<StreamExit>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      resolve({ code, signal, timedOut });
    });
  }).finally(() => {
    clearTimeout(limit);
    if (killTimer !== undefined) clearTimeout(killTimer);
    opts.signal?.removeEventListener('abort', stop);
  });
  exited.catch(() => undefined);
  return { stdout: child.stdout, exited, stderrTail, stop };
}

/** Keeps the last lines of a stream, passing each to `onLine`. */
function collectLines(stream: Readable, onLine?: (line: string) => void): string[] {
  const lines: string[] = [];
  let partial = '';
  stream.setEncoding('utf8');
  stream.on('data', (s: string) => {
    const parts = (partial + s).split('\n');
    partial = parts.pop() ?? '';
    for (const l of parts) {
      lines.push(l);
      if (lines.length > STDERR_KEPT_LINES) lines.shift();
      onLine?.(l);
    }
  });
  return lines;
}
