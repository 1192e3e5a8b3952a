/**
 * Runs the real CLI (`node --import tsx buildchain/cli/main.ts`: one process, so that signals
 * and kill -9 reach the build itself) in a workspace with the JSON reporter, the workspace's
 * tasks module and its bin/ first on PATH.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseNdjson, type JsonEvent } from './ndjson.ts';
import { REPO_ROOT, type Workspace } from './workspace.ts';

const TSX_LOADER = pathToFileURL(path.join(REPO_ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const MAIN = path.join(REPO_ROOT, 'buildchain/cli/main.ts');

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
}

function cliEnv(ws: Workspace, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  // Only pass what a shell would; no settings keys leak from the test runner's environment.
  for (const k of ['HOME', 'LANG', 'TMPDIR', 'USER']) if (process.env[k] !== undefined) env[k] = process.env[k];
  env.PATH = `${ws.binDir}${path.delimiter}${process.env.PATH ?? ''}`;
  return { ...env, ...extra };
}

/** Starts the CLI; `done` resolves when it exits. */
export function spawnCli(ws: Workspace, args: readonly string[], opts: CliOptions = {}): { child: ChildProcess; done: Promise<CliResult> } {
  const reporterArgs = opts.console === true ? [] : ['--reporter', 'json'];
  const child = spawn(process.execPath, ['--import', TSX_LOADER, MAIN, '--tasks-module', ws.tasksModule, ...reporterArgs, ...args], {
    cwd: ws.dir,
    env: cliEnv(ws, opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout, stderr, events: opts.console === true ? [] : parseNdjson(stdout) });
    });
  });
  return { child, done };
}

export function runCli(ws: Workspace, args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  return spawnCli(ws, args, opts).done;
}

/** Polls until `check()` is true (max `ms`), for waiting on marker files written by tasks. */
export async function waitFor(check: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('waitFor: condition not met');
    await new Promise((r) => setTimeout(r, 50));
  }
}
