/** Up-to-date checks through the real CLI: what makes a task run again, and what does not. */
import { execFileSync } from 'node:child_process';
import { statSync, utimesSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RACY_MS } from '../../buildchain/engine/fingerprint.ts';
import { fakeTool } from '../helpers/fake-tool.ts';
import { eventOf, tasksWith, type JsonEvent } from '../helpers/ndjson.ts';
import { runCli } from '../helpers/run-cli.ts';
import { createWorkspace, type Workspace } from '../helpers/workspace.ts';

// copy: in.txt -> _build/a.txt; upper: _build/a.txt -> _build/b.txt (implicit dep);
// stamp: no file deps (always runs); named: declares PROJECT_NAME; tooled: needs skopeo.
const TASKS = (copyScript: string) => `
  return [
    { name: 'copy', fileDeps: ['in.txt'], targets: ['_build/a.txt'],
      actions: [sh(${JSON.stringify(copyScript)})] },
    { name: 'upper', fileDeps: ['_build/a.txt'], targets: ['_build/b.txt'],
      actions: [fn('upper', async () => {
        const t = await fs.readFile('_build/a.txt', 'utf8');
        await fs.writeFile('_build/b.txt', t.toUpperCase());
      })] },
    { name: 'stamp', actions: [sh('date +%s%N > _build/stamp')], taskDeps: ['copy'] },
    { name: 'named', fileDeps: ['in.txt'], envKeys: ['PROJECT_NAME'], targets: ['_build/name'],
      actions: [sh('echo "$PROJECT_NAME" > _build/name')] },
    { name: 'tooled', fileDeps: ['in.txt'], tools: ['skopeo'], targets: ['_build/tool'],
      actions: [sh('skopeo --version > _build/tool')] },
    { name: 'marker', uptodate: [true], targets: ['_build/marker'], taskDeps: ['copy'],
      actions: [sh('echo m > _build/marker')] },
    { name: 'iso', taskDeps: ['upper', 'stamp', 'named', 'tooled', 'marker'] },
  ];`;

describe('freshness', () => {
  let ws: Workspace;
  const run = async (args: string[] = [], env?: Record<string, string>) => {
    const r = await runCli(ws, args, { env });
    expect(r.code, r.stderr).toBe(0);
    return r.events;
  };

  beforeAll(async () => {
    ws = await createWorkspace(TASKS('mkdir -p _build && cp in.txt _build/a.txt'));
    ws.write('in.txt', 'hello\n');
    fakeTool(ws.binDir, 'skopeo', { version: '1.0' });
  });
  afterAll(() => ws.cleanup());

  it('runs everything once, then only the always-run task', async () => {
    const first = await run();
    expect(tasksWith(first, 'start').sort()).toEqual([
      'copy',
      'marker',
      'named',
      'stamp',
      'tooled',
      'upper',
    ]);
    expect(ws.read('_build/b.txt')).toBe('HELLO\n');
    const second = await run();
    expect(tasksWith(second, 'start')).toEqual(['stamp']);
    expect(eventOf(second, 'start', 'stamp').reasons).toEqual([
      'always runs (no file deps and no uptodate check)',
    ]);
    expect(tasksWith(second, 'skip', 'up-to-date').sort()).toEqual([
      'copy',
      'marker',
      'named',
      'tooled',
      'upper',
    ]);
    expect(eventOf(second, 'summary').counts).toMatchObject({ done: 1, upToDate: 5, failed: 0 });
  });

  it('reruns the readers of a changed file, and their readers only if their input changed', async () => {
    ws.write('in.txt', 'world\n');
    const ev = await run();
    expect(eventOf(ev, 'start', 'copy').reasons).toEqual(['file changed: in.txt']);
    expect(eventOf(ev, 'start', 'upper').reasons).toEqual(['file changed: _build/a.txt']);
    expect(tasksWith(ev, 'start')).toContain('named');
    expect(ws.read('_build/b.txt')).toBe('WORLD\n');
    // Same content again (new mtime): copy reruns, upper sees identical content and is skipped.
    ws.write('in.txt', 'world\n');
    const again = await run();
    expect(tasksWith(again, 'skip', 'up-to-date')).toContain('upper');
  });

  it('a same-size edit with its mtime put back reruns; a touched identical file does not', async () => {
    const file = ws.path('in.txt');
    const old = new Date(Date.now() - 60_000);
    utimesSync(file, old, old);
    await new Promise((r) => setTimeout(r, RACY_MS + 15)); // the ctime too is past the racy margin
    await run(['copy']); // records in.txt's stat as trusted
    execFileSync('cp', ['-p', file, ws.path('in.ref')]);
    ws.write('in.txt', 'WORLD\n'); // same size
    execFileSync('touch', ['-r', ws.path('in.ref'), file]);
    const edited = await run(['copy']);
    expect(eventOf(edited, 'start', 'copy').reasons).toEqual(['file changed: in.txt']);
    expect(ws.read('_build/a.txt')).toBe('WORLD\n');
    ws.write('in.txt', 'world\n');
    await run(['copy']);
    // Touched, content unchanged: hashed again (its stat changed), nothing runs.
    utimesSync(file, new Date(), new Date());
    expect(tasksWith(await run(['copy']), 'skip', 'up-to-date')).toEqual(['copy']);
    ws.remove('in.ref');
  });

  it('a no-op reads no file and rewrites no state', async () => {
    // A subprocess: the real CLI on the workspace's own tasks module (in process, the test
    // helper writes a fresh copy of it on every run).
    const sub = async (): Promise<JsonEvent[]> => {
      const r = await runCli(ws, ['upper'], { subprocess: true });
      expect(r.code, r.stderr).toBe(0);
      return r.events;
    };
    await sub();
    await new Promise((r) => setTimeout(r, RACY_MS + 15));
    await sub();
    const state = ws.path('_build/.buildchain/state.json');
    const before = statSync(state);
    const ev = await sub();
    expect(tasksWith(ev, 'skip', 'up-to-date').sort()).toEqual(['copy', 'upper']);
    const after = statSync(state);
    // Nothing hashed or parsed: the state (and its stat cache) was not saved again.
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  });

  it('reruns a task whose action changed', async () => {
    ws.setTasks(TASKS('mkdir -p _build && cp in.txt _build/a.txt && echo changed > /dev/null'));
    const ev = await run();
    expect(eventOf(ev, 'start', 'copy').reasons).toEqual(['actions changed']);
    // Command actions that did not change (and do not depend on copy) stay up to date; the
    // function action `upper` is defined in the edited module, so its code changed too
    // (code-aware fingerprints).
    expect(tasksWith(ev, 'skip', 'up-to-date').sort()).toEqual(['named', 'tooled']);
    expect(eventOf(ev, 'start', 'upper').reasons).toEqual(['actions changed']);
  });

  it('reruns a task whose target was deleted or edited by hand', async () => {
    ws.remove('_build/b.txt');
    const deleted = await run();
    expect(eventOf(deleted, 'start', 'upper').reasons).toEqual(['target missing: _build/b.txt']);
    expect(ws.read('_build/b.txt')).toBe('WORLD\n');
    ws.write('_build/b.txt', 'WORLD!\n');
    const edited = await run();
    expect(eventOf(edited, 'start', 'upper').reasons).toEqual(['target changed: _build/b.txt']);
    expect(ws.read('_build/b.txt')).toBe('WORLD\n');
  });

  it('uptodate [true] runs again only when its target is missing', async () => {
    expect(tasksWith(await run(), 'skip', 'up-to-date')).toContain('marker');
    ws.remove('_build/marker');
    expect(eventOf(await run(), 'start', 'marker').reasons).toEqual([
      'target missing: _build/marker',
    ]);
  });

  it('reruns a task whose declared env key changed (environment and .env)', async () => {
    const ev = await run([], { PROJECT_NAME: 'Other' });
    expect(eventOf(ev, 'start', 'named').reasons).toEqual(['env changed: PROJECT_NAME']);
    expect(ws.read('_build/name')).toBe('Other\n');
    ws.write('.env', 'PROJECT_NAME=Third\n');
    const viaFile = await run();
    expect(eventOf(viaFile, 'start', 'named').reasons).toEqual(['env changed: PROJECT_NAME']);
    expect(ws.read('_build/name')).toBe('Third\n');
    ws.remove('.env');
  });

  it('reruns a task whose tool version changed', async () => {
    await run();
    fakeTool(ws.binDir, 'skopeo', { version: '2.0-longer' });
    const ev = await run();
    expect(eventOf(ev, 'start', 'tooled').reasons).toEqual(['tool changed: skopeo']);
    expect(ws.read('_build/tool')).toBe('skopeo version 2.0-longer\n');
  });

  it('--dry-run says what would run and why, and runs nothing', async () => {
    ws.write('in.txt', 'dry\n');
    const r = await runCli(ws, ['--dry-run', 'upper']);
    expect(r.code).toBe(0);
    expect(tasksWith(r.events, 'start')).toEqual([]);
    expect(eventOf(r.events, 'skip', 'copy')).toMatchObject({
      reason: 'dry-run',
      reasons: ['file changed: in.txt'],
    });
    expect(eventOf(r.events, 'skip', 'upper').reasons).toContain('dependency would run: copy');
    expect(ws.read('_build/a.txt')).toBe('world\n');
  });

  it('-a/--always-make runs up-to-date tasks', async () => {
    await run(['copy']);
    const ev = await run(['-a', 'copy']);
    expect(eventOf(ev, 'start', 'copy').reasons).toEqual(['forced (--always-make)']);
  });
});
