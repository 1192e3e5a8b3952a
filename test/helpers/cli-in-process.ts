/**
 * Runs the build CLI's `main` inside the test process (no node + tsx start-up: about ten times
 * faster than a subprocess). `main` reads the process's environment and working directory and
 * writes to its stdout/stderr: for the duration of one call they are the CLI's (the caller's
 * environment replaced, not merged; output captured), then restored, together with the
 * module-level default command time limit that loading the settings sets. One call at a time:
 * {@link isInProcessBusy} tells a caller to start a subprocess instead.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  defaultCommandTimeout,
  setDefaultCommandTimeout,
} from '../../buildchain/engine/exec/run-command.ts';

/** What one in-process run printed and returned. */
export interface InProcessResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

let busy = false;

/** True while a run is in progress (the process's env, cwd and output are borrowed). */
export function isInProcessBusy(): boolean {
  return busy;
}

/** Replaces `stream.write` (and hides a terminal: a subprocess's stdout is a pipe); returns the undo. */
function capture(stream: NodeJS.WriteStream, sink: string[]): () => void {
  const write = stream.write.bind(stream);
  const tty = Object.getOwnPropertyDescriptor(stream, 'isTTY');
  const fake = (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    sink.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    const cb = rest.find((r) => typeof r === 'function') as ((err?: Error) => void) | undefined;
    if (cb !== undefined) {
      queueMicrotask(() => {
        cb();
      });
    }
    return true;
  };
  stream.write = fake;
  Object.defineProperty(stream, 'isTTY', { value: false, configurable: true, writable: true });
  return () => {
    stream.write = write;
    if (tty === undefined) Reflect.deleteProperty(stream, 'isTTY');
    else Object.defineProperty(stream, 'isTTY', tty);
  };
}

function replaceEnv(env: NodeJS.ProcessEnv): void {
  for (const k of Object.keys(process.env)) Reflect.deleteProperty(process.env, k);
  for (const [k, v] of Object.entries(env)) if (v !== undefined) process.env[k] = v;
}

/**
 * Runs `main(args)` with `cwd` as working directory and `env` as the whole environment.
 * A throw out of `main` (a subprocess would die with its stack) is returned as exit code 1 with
 * the stack on stderr.
 */
export async function runMainInProcess(
  cwd: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<InProcessResult> {
  if (busy) throw new Error('runMainInProcess: a run is already in progress');
  busy = true;
  let main: (argv: readonly string[]) => Promise<number>;
  try {
    ({ main } = await import('../../buildchain/cli/main.ts'));
  } catch (err) {
    busy = false;
    throw err;
  }
  const savedEnv = { ...process.env };
  const savedCwd = process.cwd();
  const savedTimeout = defaultCommandTimeout();
  const out: string[] = [];
  const err: string[] = [];
  const undo = [capture(process.stdout, out), capture(process.stderr, err)];
  let code: number;
  try {
    replaceEnv(env);
    process.chdir(cwd);
    code = await main(args);
  } catch (thrown) {
    err.push(`${thrown instanceof Error ? (thrown.stack ?? thrown.message) : String(thrown)}\n`);
    code = 1;
  } finally {
    for (const u of undo) u();
    process.chdir(savedCwd);
    replaceEnv(savedEnv);
    setDefaultCommandTimeout(savedTimeout);
    busy = false;
  }
  return { code, stdout: out.join(''), stderr: err.join('') };
}

/**
 * A copy of the tasks module `file` named by its content, in `dir`: the test process caches a
 * module by its name, so a module rewritten between two runs must be loaded under a new name.
 */
export function tasksModuleCopy(file: string, dir: string): string {
  const text = readFileSync(file);
  const name = `tasks-${createHash('sha256').update(text).digest('hex').slice(0, 16)}${path.extname(file)}`;
  mkdirSync(dir, { recursive: true });
  const copy = path.join(dir, name);
  writeFileSync(copy, text);
  return copy;
}

/**
 * Runs `metalk8s-solution argv` in this process with `env` set over the process's environment
 * (as `.env` or the shell would set it; restored afterwards). Returns the exit code and the
 * lines written to stdout and stderr, each joined with newlines.
 */
export async function runSolutionInProcess(
  argv: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  // Loaded on first use, as `main` is: the build CLI's users do not pay for it.
  const { runSolutionCli } = await import('../../buildchain/cli/solution.ts');
  const out: string[] = [];
  const err: string[] = [];
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    const code = await runSolutionCli(argv, {
      out: (t) => out.push(t),
      err: (t) => err.push(t),
    });
    return { code, out: out.join('\n'), err: err.join('\n') };
  } finally {
    for (const k of Object.keys(env)) {
      if (saved[k] === undefined) Reflect.deleteProperty(process.env, k);
      else process.env[k] = saved[k];
    }
  }
}
