/**
 * Long-running processes (loopback servers) that outlive the call starting them: each leads its
 * own process group, stopped by pid (engine/exec/process-group.ts). No time limit: the caller
 * waits for readiness itself and stops the group, always.
 */
import { spawn } from 'node:child_process';

/** Options for {@link startDetached}. */
export interface StartDetachedOptions {
  /** File descriptor receiving stdout and stderr (a log file opened by the caller). */
  readonly outputFd: number;
  /** The whole environment of the process (nothing of the caller's is added). */
  readonly env: NodeJS.ProcessEnv;
}

/** A started detached process. */
export interface DetachedProcess {
  /** Pid of the group leader (undefined when it could not start). */
  readonly pid: number | undefined;
  /** Resolves when it could not start (ENOENT...). */
  readonly spawnError: Promise<Error>;
  /** Resolves when the leader has exited. */
  readonly exited: Promise<void>;
}

/**
 * Starts `argv` detached, with a stdin pipe that only this process holds (closed when it
 * exits: a watchdog leader can read it), neither the child nor the pipe keeping this process
 * alive.
 */
export function startDetached(
  argv: readonly string[],
  opts: StartDetachedOptions,
): DetachedProcess {
  const [bin, ...args] = argv;
  if (bin === undefined || bin === '') throw new Error('empty argv');
  const child = spawn(bin, args, {
    detached: true,
    stdio: ['pipe', opts.outputFd, opts.outputFd],
    env: opts.env,
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  child.unref();
  // The pipe must not keep the event loop alive; it closes when this process exits.
  (child.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null)?.unref?.();
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  return { pid: child.pid, spawnError, exited };
}
