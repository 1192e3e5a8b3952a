/**
 * The one execa wrapper: argv arrays only (never a shell string), each command in its own
 * process group (`detached`) killed as a group on abort or timeout, output streamed line by
 * line, the stderr tail kept for failure reports.
 */
import { loadExeca } from './lazy-execa.ts';
import { terminateGroup } from './process-group.ts';
import { TaskError } from '../task.ts';
import type { ActionContext, ExecOptions, ExecResult } from '../task.ts';

export type { ExecOptions, ExecResult };

/**
 * THE command-runner type: `ActionContext.exec` inside the engine, {@link execDirect} (or
 * {@link execDirectWith}) outside it. Library code takes an `Exec` so that a task passes
 * `ctx.exec` and tests pass `execDirect`. Throws a TaskError `command-failed` (or
 * `tool-not-found`, `aborted`) on failure unless `reject: false`.
 */
export type Exec = (argv: readonly string[], options?: ExecOptions) => Promise<ExecResult>;

/** Result of {@link runCommandBytes}: stdout as bytes (file contents read out of an image). */
export interface ExecBytesResult {
  readonly exitCode: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

/** Lines of stderr kept for a failure report. */
export const STDERR_TAIL_LINES = 20;
/** Grace period between SIGTERM and SIGKILL of an aborted process group (ms). */
export const KILL_GRACE_MS = 3000;
/** Default time limit of a command (seconds): COMMAND_TIMEOUT's default. */
export const DEFAULT_COMMAND_TIMEOUT_S = 3600;

let defaultTimeoutMs = DEFAULT_COMMAND_TIMEOUT_S * 1000;

/**
 * Sets the time limit of every command run without its own `timeoutMs` (ms; 0: no limit).
 * The CLI sets it once from COMMAND_TIMEOUT.
 */
export function setDefaultCommandTimeout(ms: number): void {
  defaultTimeoutMs = ms;
}

/** The time limit of commands run without their own `timeoutMs` (ms; 0: no limit). */
export function defaultCommandTimeout(): number {
  return defaultTimeoutMs;
}

export interface RunCommandOptions {
  readonly cwd: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly input?: string;
  readonly signal: AbortSignal;
  /** Called for each output line as it arrives. */
  readonly onLine?: (stream: 'stdout' | 'stderr', line: string) => void;
  /** Keep stdout/stderr in the result (function actions); command actions only keep the tail. */
  readonly buffer?: boolean;
  /** When false, a non-zero exit resolves instead of throwing. Default true. */
  readonly reject?: boolean;
  /**
   * Time limit (ms; 0: none). Default: COMMAND_TIMEOUT (see {@link setDefaultCommandTimeout}).
   * On expiry the process group is killed and `command-failed` thrown.
   */
  readonly timeoutMs?: number;
  /** The error thrown on expiry of the time limit (default: `<tool> timed out after N s`). */
  readonly onTimeout?: (limitMs: number) => TaskError;
}

/** Most bytes of stdout {@link runCommandBytes} keeps (1 GiB). */
const MAX_STDOUT_BYTES = 1 << 30;

/** Re-reads the flag (TypeScript would keep an earlier narrowing across the await). */
function isAborted(signal: AbortSignal): boolean {
  return signal.aborted;
}

/** Runs `argv`; throws TaskError (`command-failed`, `tool-not-found`, `aborted`). */
export async function runCommand(
  argv: readonly string[],
  opts: RunCommandOptions,
): Promise<ExecResult> {
  const r = await runProcess(argv, opts, undefined);
  return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

/**
 * {@link runCommand} keeping stdout as bytes (not split into lines, not decoded; `onLine` sees
 * stderr only). At most 1 GiB of stdout is kept: more fails with `command-failed`.
 */
export async function runCommandBytes(
  argv: readonly string[],
  opts: RunCommandOptions,
): Promise<ExecBytesResult> {
  const chunks: Uint8Array[] = [];
  const r = await runProcess(argv, { ...opts, buffer: true }, chunks);
  return { exitCode: r.exitCode, stdout: Buffer.concat(chunks), stderr: r.stderr };
}

/** Runs argv; with `chunks`, stdout's raw bytes go there instead of the result's `stdout`. */
async function runProcess(
  argv: readonly string[],
  opts: RunCommandOptions,
  chunks: Uint8Array[] | undefined,
): Promise<ExecResult> {
  const [file, ...args] = argv;
  if (file === undefined || file === '') throw new TaskError('internal-error', 'empty argv');
  if (opts.signal.aborted) throw new TaskError('aborted', 'interrupted', { argv });
  const tail: string[] = [];
  const onLine = opts.onLine;
  const tap = (stream: 'stdout' | 'stderr') =>
    function* (chunk: unknown): Generator<string, void, void> {
      const line = String(chunk);
      if (stream === 'stderr') {
        tail.push(line);
        if (tail.length > STDERR_TAIL_LINES) tail.shift();
      }
      onLine?.(stream, line);
      yield line;
    };
  let kept = 0;
  const collect = {
    binary: true,
    // Yields nothing on purpose: the bytes are kept here, not in execa's (line) buffer.
    // eslint-disable-next-line require-yield
    *transform(chunk: unknown): Generator<never, void, void> {
      const bytes = chunk as Uint8Array;
      kept += bytes.length;
      if (kept > MAX_STDOUT_BYTES) throw new Error(`more than ${MAX_STDOUT_BYTES} bytes on stdout`);
      chunks?.push(bytes);
    },
  };
  const { execa } = await loadExeca();
  const sub = execa(file, args, {
    cwd: opts.cwd,
    env: opts.env,
    ...(opts.input === undefined ? { stdin: 'ignore' as const } : { input: opts.input }),
    detached: true,
    reject: false,
    buffer: opts.buffer ?? false,
    stdout: chunks === undefined ? [tap('stdout')] : [collect],
    stderr: [tap('stderr')],
    maxBuffer: 256 * 1024 * 1024,
  });
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (): void => {
    if (sub.pid === undefined || killTimer !== undefined) return;
    killTimer = terminateGroup(sub.pid, KILL_GRACE_MS);
  };
  const limitMs = opts.timeoutMs ?? defaultTimeoutMs;
  const limit = { expired: false };
  const timeoutTimer =
    limitMs > 0
      ? setTimeout(() => {
          limit.expired = true;
          stop();
        }, limitMs)
      : undefined;
  opts.signal.addEventListener('abort', stop, { once: true });
  try {
    const r = await sub;
    if (isAborted(opts.signal))
      throw new TaskError('aborted', 'interrupted', { argv, stderrTail: tail });
    if (limit.expired) {
      throw (
        opts.onTimeout?.(limitMs) ?? timeoutError(argv, limitMs, opts.timeoutMs !== undefined, tail)
      );
    }
    const code = (r as { code?: string }).code;
    if (code === 'ENOENT' || code === 'EACCES') {
      throw new TaskError('tool-not-found', `tool-not-found: ${file} (${code})`, {
        argv,
        hint: 'install it (run the setup command) or set its *_BIN key in .env',
      });
    }
    const exitCode = r.exitCode ?? -1;
    const result: ExecResult = {
      exitCode,
      stdout: typeof r.stdout === 'string' ? r.stdout : '',
      stderr: typeof r.stderr === 'string' ? r.stderr : '',
    };
    if (exitCode !== 0 && opts.reject !== false) {
      const signalName = r.signal ?? undefined;
      throw new TaskError(
        'command-failed',
        signalName !== undefined
          ? `${file} killed by ${signalName}`
          : `${file} exited with code ${exitCode}`,
        { argv, ...(signalName === undefined ? { exitCode } : { signalName }), stderrTail: tail },
      );
    }
    return result;
  } finally {
    clearTimeout(timeoutTimer);
    opts.signal.removeEventListener('abort', stop);
    if (killTimer !== undefined && sub.exitCode !== null) clearTimeout(killTimer);
  }
}

function timeoutError(
  argv: readonly string[],
  limitMs: number,
  ownLimit: boolean,
  tail: readonly string[],
): TaskError {
  const seconds = Math.round(limitMs / 100) / 10;
  return new TaskError('command-failed', `${argv[0] ?? ''} timed out after ${seconds} s`, {
    argv,
    stderrTail: tail,
    hint: ownLimit
      ? 'this call has its own limit, far above what its input needs: check the input and the tool (COMMAND_TIMEOUT does not change it)'
      : 'raise COMMAND_TIMEOUT in .env (seconds; 0 = no limit) if the command legitimately needs longer',
  });
}

/**
 * The {@link Exec} for library code and tests running outside the engine: {@link runCommand}
 * with the {@link ExecOptions} of `ActionContext.exec` (output kept, never aborted, cwd
 * defaults to the process's, `env` added to the process's environment).
 */
export const execDirect: Exec = execDirectWith(new AbortController().signal);

/** {@link execDirect} whose commands are killed (`aborted`) when `signal` aborts (if given). */
export function execDirectWith(signal: AbortSignal = new AbortController().signal): Exec {
  return (argv, options = {}) =>
    runCommand(argv, {
      cwd: options.cwd ?? process.cwd(),
      signal,
      buffer: true,
      ...(options.env === undefined ? {} : { env: options.env }),
      ...(options.input === undefined ? {} : { input: options.input }),
      ...(options.reject === undefined ? {} : { reject: options.reject }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    });
}

/** The {@link Exec} of a function action: its context's `exec` (cwd, env, abort, output lines). */
export function contextExec(ctx: ActionContext): Exec {
  return (argv, options) => ctx.exec(argv, options);
}
