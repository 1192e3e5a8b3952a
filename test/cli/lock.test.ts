/**
 * The build lock while a real build runs (a subprocess): `clean`, `forget` and `ignore` refuse
 * at once with a clear message and delete nothing under the build; read-only commands (`list`,
 * `list --status`, `info`, `clean -n`, `--dry-run`) never block. The build then ends well.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventOf } from '../helpers/ndjson.ts';
import { runCli, spawnCli, waitFor } from '../helpers/run-cli.ts';
import { createWorkspace, type Workspace } from '../helpers/workspace.ts';

const TASKS = `return [
  { name: 'iso', targets: ['_build/x.iso'], clean: true, fileDeps: ['src.txt'],
    actions: [sh('mkdir -p _build && echo iso > _build/x.iso')] },
  { name: 'slow', taskDeps: ['iso'], fileDeps: ['src.txt'], targets: ['_build/slow'], clean: true,
    actions: [sh('touch _build/started; while [ ! -e release ]; do sleep 0.05; done; echo > _build/slow')] },
];`;

describe('the build lock', () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await createWorkspace(TASKS);
    ws.write('src.txt', 'source\n');
  });
  afterAll(async () => {
    await ws.cleanup();
  });

  it('clean, forget and ignore refuse during a build; read-only commands do not block', async () => {
    const build = spawnCli(ws, ['slow']);
    try {
      await waitFor(() => ws.exists('_build/started'));
      for (const args of [
        ['clean', 'iso'],
        ['clean'],
        ['clean', '-a'],
        ['forget'],
        ['ignore', 'iso'],
      ]) {
        const r = await runCli(ws, args);
        expect(r.code, args.join(' ')).toBe(2);
        const err = eventOf(r.events, 'error');
        expect(err.reason).toBe('lock-held');
        expect(err.message).toMatch(
          /^another build or (clean|forget|ignore) is running on .* \(pid \d+\)$/,
        );
        expect(err.hint).toContain('wait for it to finish');
        expect(ws.exists('_build/x.iso')).toBe(true);
      }
      const text = await runCli(ws, ['clean', 'iso'], { console: true });
      expect(text.stderr).toContain('error: another build or clean is running on');
      for (const args of [
        ['list'],
        ['list', '--status'],
        ['info', 'iso'],
        ['clean', '-n', 'iso'],
        ['--dry-run', 'iso'],
      ]) {
        const r = await runCli(ws, args);
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      }
      const dry = await runCli(ws, ['clean', '-n', 'iso']);
      expect(eventOf(dry.events, 'clean', 'iso').removed).toEqual([ws.path('_build/x.iso')]);
      writeFileSync(ws.path('release'), '');
      const done = await build.done;
      expect(done.code, done.stderr).toBe(0);
      expect(ws.exists('_build/x.iso')).toBe(true);
      expect(ws.exists('_build/slow')).toBe(true);
    } finally {
      writeFileSync(ws.path('release'), '');
      if (build.child.exitCode === null) build.child.kill('SIGKILL');
    }
    // Once the build is over, clean takes the lock and works.
    expect((await runCli(ws, ['clean', 'iso'])).code).toBe(0);
    expect(ws.exists('_build/x.iso')).toBe(false);
  });
});
