/**
 * Runs the real CLI in a workspace with the JSON reporter, the workspace's tasks module and its
 * bin/ first on PATH: {@link runCli} calls its `main` in this process (see cli-in-process.ts);
 * {@link spawnCli} and `subprocess: true` start `node --import tsx buildchain/cli/bin.ts` (one
 * process, so that signals and kill -9 reach the build itself).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isInProcessBusy, runMainInProcess, tasksModuleCopy } from './cli-in-process.ts';
import { parseNdjson, type JsonEvent } from './ndjson.ts';
import { REPO_ROOT, type Workspace } from './workspace.ts';

const TSX_LOADER = pathToFileURL(path.join(REPO_ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const MAIN = path.join(REPO_ROOT, 'buildchain/cli/bin.ts');

export interface CliResult {
  /** Exit code (130 for an interrupted build); null if killed by a signal. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** JSON events parsed from stdout. */
  readonly events: JsonEvent[];
}

export interface CliOptions {
  /** Extra environment (e.g. PROJECT_NAME). Settings of the caller's environment are dropped. */
  readonly env?: Record<string, string>;
  /** Use the console reporter instead of json. */
  readonly console?: boolean;
  /**
   * Start a subprocess instead of calling `main` in this process: for tests whose tasks modules
   * import other modules they rewrite (the test process caches modules), or that mix runs with
   * {@link spawnCli} on a workspace whose function actions must keep their fingerprints.
   */
  readonly subprocess?: boolean;
}

/**
 * The environment a shell would pass (HOME, LANG, TMPDIR, USER, PATH with `pathPrefix` first)
 * plus `extra`: no settings keys leak from the test runner's environment.
 */
export function shellEnv(
  extra: Record<string, string> = {},
  pathPrefix?: string,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const k of ['HOME', 'LANG', 'TMPDIR', 'USER'])
    if (process.env[k] !== undefined) env[k] = process.env[k];
  const inherited = process.env.PATH ?? '';
  env.PATH = pathPrefix === undefined ? inherited : `${pathPrefix}${path.delimiter}${inherited}`;
  return { ...env, ...extra };
}

/** Options for {@link spawnCliIn}. */
export interface CliInOptions {
  /** Full environment of the CLI (see {@link shellEnv}). */
  readonly env: NodeJS.ProcessEnv;
  /** Use the console reporter instead of json. */
  readonly console?: boolean;
  /** The CLI entry point (default: this repository's `buildchain/cli/bin.ts`). */
  readonly main?: string;
}

/** Starts the CLI in `cwd`; `done` resolves when it exits. */
export function spawnCliIn(
  cwd: string,
  args: readonly string[],
  opts: CliInOptions,
): { child: ChildProcess; done: Promise<CliResult> } {
  const reporterArgs = opts.console === true ? [] : ['--reporter', 'json'];
  const child = spawn(
    process.execPath,
    ['--import', TSX_LOADER, opts.main ?? MAIN, ...reporterArgs, ...args],
    {
      cwd,
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({
        code,
        signal,
        stdout,
        stderr,
        events: opts.console === true ? [] : parseNdjson(stdout),
      });
    });
  });
  return { child, done };
}

/**
 * Runs the CLI's `main` in this process in `cwd` (a repository or a copy of one), with `env`
 * as its whole environment (see cli-in-process.ts).
 */
export async function runCliHere(
  cwd: string,
  args: readonly string[],
  opts: { readonly env: NodeJS.ProcessEnv; readonly console?: boolean },
): Promise<CliResult> {
  const reporterArgs = opts.console === true ? [] : ['--reporter', 'json'];
  const r = await runMainInProcess(cwd, [...reporterArgs, ...args], opts.env);
  return { ...r, signal: null, events: opts.console === true ? [] : parseNdjson(r.stdout) };
}

/** Runs the CLI in `cwd` (see {@link spawnCliIn}). */
export function runCliIn(
  cwd: string,
  args: readonly string[],
  opts: CliInOptions,
): Promise<CliResult> {
  return spawnCliIn(cwd, args, opts).done;
}

/** Starts the CLI in a workspace, with its tasks module and its bin/ first on PATH. */
export function spawnCli(
  ws: Workspace,
  args: readonly string[],
  opts: CliOptions = {},
): { child: ChildProcess; done: Promise<CliResult> } {
  return spawnCliIn(ws.dir, ['--tasks-module', ws.tasksModule, ...args], {
    env: shellEnv(opts.env, ws.binDir),
    ...(opts.console === undefined ? {} : { console: opts.console }),
  });
}

/**
 * Runs the CLI in a workspace (see {@link spawnCli}): in this process unless `opts.subprocess`
 * or another in-process run is under way. In process, the tasks module is loaded from a copy
 * named by its content (in `<workspace>.tasks/`), so that a rewritten module is loaded anew.
 */
export async function runCli(
  ws: Workspace,
  args: readonly string[],
  opts: CliOptions = {},
): Promise<CliResult> {
  if (opts.subprocess === true || isInProcessBusy()) return spawnCli(ws, args, opts).done;
  const tasksModule = tasksModuleCopy(ws.tasksModule, `${ws.dir}.tasks`);
  return runCliHere(ws.dir, ['--tasks-module', tasksModule, ...args], {
    env: shellEnv(opts.env, ws.binDir),
    ...(opts.console === undefined ? {} : { console: opts.console }),
  });
}

/** Polls until `check()` is true (max `ms`), for waiting on marker files written by tasks. */
export async function waitFor(check: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('waitFor: condition not met');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** True while a process `pid` exists (a zombie not yet reaped included). */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A finished program run by {@link runFile}. */
export interface FileRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a program (e.g. ./doit.sh or node bin/x.js) to its end; never rejects. */
export function runFile(
  file: string,
  args: readonly string[],
  cwd: string,
  env = shellEnv(),
): Promise<FileRun> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** True when the text holds a JavaScript stack trace (an error must never show one). */
export const hasStack = (text: string): boolean => /\n\s+at .+:\d+:\d+\)?$/m.test(text);
