/**
 * Writing to a closed pipe (`./doit.sh list | head -n 1`) ends quietly with exit code 0: no
 * EPIPE stack trace, for every command that prints a lot (list, dry run, JSON reporter, a real
 * build, tabcompletion). Real processes and a real pipe: bash's `| head -n 1` closes it early.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingTools } from '../helpers/require-tool.ts';
import { shellEnv } from '../helpers/run-cli.ts';
import { createWorkspace, REPO_ROOT, type Workspace } from '../helpers/workspace.ts';

const run = promisify(execFile);
const LOADER = pathToFileURL(path.join(REPO_ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const BIN = path.join(REPO_ROOT, 'buildchain/cli/bin.ts');

// 3000 tasks: every command below prints far more than a pipe holds (64 KiB).
const TASKS = `
  const out = [];
  for (let i = 0; i < 3000; i++)
    out.push({ name: 'group:task-' + i, doc: 'task number ' + i + ' with a doc line of some length',
      actions: [fn('noop', async () => {})] });
  out.push({ name: 'iso', doc: 'everything', taskDeps: ['group:*'] });
  return out;`;

describe.skipIf(missingTools('bash', 'head').length > 0)('a closed output pipe', () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await createWorkspace(TASKS);
  });
  afterAll(async () => {
    await ws.cleanup();
  });

  /** Runs the CLI into `| head -n 1`; its exit status, stderr and what head printed. */
  async function piped(args: string[]): Promise<{ status: string; stderr: string; head: string }> {
    const errFile = ws.path('stderr.txt');
    const script =
      '"$1" --import "$2" "$3" --tasks-module "$4" "${@:6}" 2>"$5" | head -n 1; echo "status=${PIPESTATUS[0]}"';
    const r = await run(
      'bash',
      ['-c', script, 'bash', process.execPath, LOADER, BIN, ws.tasksModule, errFile, ...args],
      { cwd: ws.dir, env: shellEnv(), maxBuffer: 1 << 20 },
    );
    const lines = r.stdout.trimEnd().split('\n');
    return {
      status: lines.pop() ?? '',
      head: lines.join('\n'),
      stderr: readFileSync(errFile, 'utf8'),
    };
  }

  it.each([
    [['list', '--all'], /^group:task-0 +task number 0/],
    [['--dry-run', 'iso'], /^sources: /],
    [['--reporter', 'json', '--dry-run', 'iso'], /^\{"event":"build-start"/],
    [['--reporter', 'json', 'iso'], /^\{"event":"build-start"/],
    [['tabcompletion'], /^# bash completion/],
  ])('%j | head -n 1 exits 0 quietly', async (args, first) => {
    const r = await piped(args);
    expect(r.head).toMatch(first);
    expect(r.stderr).toBe('');
    expect(r.status).toBe('status=0');
  });
});
