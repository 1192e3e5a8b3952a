/**
 * `./doit.sh` takes doit's command line as is, no `--`: `-n 2 TASK` really runs two tasks at
 * once (each waits for the other to start), `clean -n TASK` only prints, `list --all` lists.
 * The real script at the repository root, in a real bash, on a workspace's tasks module.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingTools } from '../helpers/require-tool.ts';
import { shellEnv } from '../helpers/run-cli.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { REPO_ROOT } from '../helpers/workspace.ts';
import { copyFileSync, existsSync, writeFileSync } from 'node:fs';

const run = promisify(execFile);
const DOIT = path.join(REPO_ROOT, 'doit.sh');

// Plain JavaScript (no import): each of par:a and par:b waits (10 s at most) for the other to
// have started, so they both finish only when they run at the same time.
const TASKS = `export function createTasks() {
  const sh = (s) => ({ kind: 'command', argv: ['sh', '-c', s] });
  const meet = (me, other) => sh('mkdir -p _build && touch _build/' + me + '.started; i=0; ' +
    'while [ ! -e _build/' + other + '.started ]; do i=$((i+1)); [ $i -gt 200 ] && exit 7; sleep 0.05; done; ' +
    'echo ' + me + ' > _build/' + me);
  return [
    { name: 'par:a', doc: 'meets b', targets: ['_build/a'], clean: true, actions: [meet('a', 'b')] },
    { name: 'par:b', doc: 'meets a', targets: ['_build/b'], clean: true, actions: [meet('b', 'a')] },
    { name: 'both', doc: 'a and b', taskDeps: ['par:*'] },
  ];
}
`;

describe.skipIf(missingTools('bash').length > 0)('./doit.sh', () => {
  let tmp: TempDir;
  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-doit-sh-');
    copyFileSync(path.join(REPO_ROOT, '.env.example'), path.join(tmp.path, '.env.example'));
    writeFileSync(path.join(tmp.path, 'tasks.mjs'), TASKS);
  });
  afterAll(async () => {
    await tmp.cleanup();
  });

  const doit = (...args: string[]) =>
    run(DOIT, ['--tasks-module', 'tasks.mjs', ...args], {
      cwd: tmp.path,
      env: shellEnv(),
      timeout: 120_000,
    });

  it('-n 2 TASK runs two tasks at once; clean -n only prints; list --all lists', async () => {
    const built = await doit('-n', '2', 'both');
    expect(built.stdout).toMatch(/build ok: 2 run/);
    expect(existsSync(path.join(tmp.path, '_build/a'))).toBe(true);
    expect(existsSync(path.join(tmp.path, '_build/b'))).toBe(true);
    const dry = await doit('clean', '-n', 'par:a');
    expect(dry.stdout).toBe(`would remove ${path.join(tmp.path, '_build/a')} (par:a)\n`);
    expect(existsSync(path.join(tmp.path, '_build/a'))).toBe(true);
    const listed = await doit('list', '--all', '-q');
    expect(listed.stdout).toBe('both\npar:a\npar:b\n');
  });
});
