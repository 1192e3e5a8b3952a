/** The build banner names the sources; user mistakes outside actions exit 2 without a stack. */
import { chmodSync, mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventOf } from '../helpers/ndjson.ts';
import { runCli } from '../helpers/run-cli.ts';
import { createWorkspace, type Workspace } from '../helpers/workspace.ts';

describe('banner and refused commands', () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await createWorkspace(`return [{ name: 'iso', actions: [sh('true')] }];`);
  });
  afterAll(() => ws.cleanup());

  it('says which sources the build uses, in the JSON build-start and on the console', async () => {
    const json = await runCli(ws, ['iso'], { env: { SOURCES: 'upstream' } });
    expect(json.code).toBe(0);
    expect(eventOf(json.events, 'build-start').sources).toBe('upstream');
    const text = await runCli(ws, ['iso'], { console: true });
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n')[0]).toBe(
      'sources: embedded mirror (stand-in content, not a release)',
    );
  });

  it('a BUILD_ROOT that cannot be written is a usage error (exit 2), not an internal one', async () => {
    if (process.getuid?.() === 0) {
      // root ignores mode bits: a path under a regular file cannot be created by anyone.
      ws.write('not-a-dir', 'x');
    } else {
      // Under _build: a directory of the repository itself would be refused as a source directory.
      mkdirSync(ws.path('_build/ro'), { recursive: true });
      chmodSync(ws.path('_build/ro'), 0o555);
    }
    const buildRoot = process.getuid?.() === 0 ? ws.path('not-a-dir/b') : ws.path('_build/ro/b');
    const r = await runCli(ws, ['iso'], { env: { BUILD_ROOT: buildRoot } });
    expect(r.code).toBe(2);
    expect(eventOf(r.events, 'error')).toMatchObject({ reason: 'invalid-env' });
    expect(String(eventOf(r.events, 'error').message)).toContain(
      'BUILD_ROOT must be a writable directory',
    );
    expect(r.stderr).not.toContain('    at ');
  });

  it('a .env mistake is a problem whose subject is the file and line', async () => {
    ws.write('.env', 'PROJET_NAME=x\n');
    try {
      const r = await runCli(ws, ['iso']);
      expect(r.code).toBe(2);
      const e = eventOf(r.events, 'error');
      expect(e).toMatchObject({
        reason: 'invalid-env',
        problem: { kind: 'invalid-env', subject: ws.path('.env:1'), severity: 'error' },
      });
      const p = e.problem as { subject: string; message: string };
      // The problem renders back as the event's message.
      expect(`${p.subject}: ${p.message}`).toBe(e.message);
    } finally {
      ws.remove('.env');
    }
  });

  it('an expected failure thrown while defining tasks exits 2 with its hint', async () => {
    const other = await createWorkspace('return [];');
    const taskTs = new URL('../../buildchain/engine/task.ts', import.meta.url).pathname;
    other.write(
      'tasks.mjs',
      `import { TaskError } from ${JSON.stringify(taskTs)};
export function createTasks() {
  throw new TaskError('invalid-input', 'images/images.yaml: bad entry', { hint: 'fix the entry' });
}
`,
    );
    try {
      const r = await runCli(other, ['iso']);
      expect(r.code).toBe(2);
      expect(eventOf(r.events, 'error')).toMatchObject({
        message: 'images/images.yaml: bad entry',
        hint: 'fix the entry',
      });
      // The same error as a problem (lib/problem.ts), beside the compatible fields.
      expect(eventOf(r.events, 'error').problem).toEqual({
        kind: 'invalid-task',
        subject: '',
        message: 'images/images.yaml: bad entry',
        fix: 'fix the entry',
        severity: 'error',
      });
      expect(r.stderr).not.toContain('    at ');
      const text = await runCli(other, ['iso'], { console: true });
      expect(text.stderr).toContain(
        'error: images/images.yaml: bad entry\n  hint: fix the entry\n',
      );
    } finally {
      await other.cleanup();
    }
  });
});
