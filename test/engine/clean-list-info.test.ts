/** clean, forget, list, info and task selection (wildcards, `/` separator) through the real CLI. */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventOf, parseNdjson, tasksWith } from '../helpers/ndjson.ts';
import { runCli } from '../helpers/run-cli.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { createWorkspace, type Workspace } from '../helpers/workspace.ts';

const TASKS = (outside: string) => `
  const make = (name, out, deps = {}) => ({ name, targets: [out], clean: true, doc: 'makes ' + out,
    actions: [sh('mkdir -p "$(dirname ' + out + ')" && echo ' + name + ' > ' + out)], ...deps });
  return [
    make('pkg:calico:get', '_build/calico/get'),
    make('pkg:calico:build', '_build/calico/build', { fileDeps: ['_build/calico/get'] }),
    make('pkg:salt:get', '_build/salt/get'),
    make('_private', '_build/private'),
    make('escape', ${JSON.stringify(outside)}),
    { name: 'iso', doc: 'the ISO', taskDeps: ['pkg:*:build'], targets: ['_build/iso'], clean: true,
      actions: [sh('cat _build/calico/build > _build/iso')], fileDeps: ['_build/calico/build'] },
  ];`;

describe('clean, forget, list, info', () => {
  let ws: Workspace;
  let outside: TempDir;
  beforeAll(async () => {
    outside = await makeTempDir('mk8s-outside-');
    ws = await createWorkspace(TASKS(`${outside.path}/user-file`));
  });
  afterAll(async () => {
    await ws.cleanup();
    await outside.cleanup();
  });

  it('selects by wildcard and by group prefix, with / as separator', async () => {
    const r = await runCli(ws, ['pkg/*/get']);
    expect(tasksWith(r.events, 'start').sort()).toEqual(['pkg:calico:get', 'pkg:salt:get']);
    const group = await runCli(ws, ['--dry-run', 'pkg:calico']);
    expect(tasksWith(group.events, 'skip').sort()).toEqual(['pkg:calico:build', 'pkg:calico:get']);
  });

  it('list hides subtasks and private tasks unless asked', async () => {
    const names = async (args: string[]) =>
      parseNdjson((await runCli(ws, ['list', ...args])).stdout).map((e) => e.name);
    expect(await names([])).toEqual(['escape', 'iso']);
    expect(await names(['--all'])).toEqual([
      'escape',
      'iso',
      'pkg:calico:build',
      'pkg:calico:get',
      'pkg:salt:get',
    ]);
    expect(await names(['--all', '--private'])).toContain('_private');
    const plain = await runCli(ws, ['list'], { console: true });
    expect(plain.stdout).toMatch(/^iso\s+the ISO$/m);
  });

  it('info shows the definition and why the task would run', async () => {
    await runCli(ws, ['iso']);
    const upToDate = parseNdjson((await runCli(ws, ['info', 'iso'])).stdout)[0];
    expect(upToDate).toMatchObject({ task: 'iso', status: 'up-to-date', targets: ['_build/iso'] });
    expect(upToDate?.taskDeps).toEqual(['pkg:calico:build']);
    ws.write('_build/calico/build', 'edited\n');
    const stale = parseNdjson((await runCli(ws, ['info', 'iso'])).stdout)[0];
    expect(stale?.status).toBe('would-run');
    // The hand-edited file is a target of pkg:calico:build, which would run again first.
    expect(stale?.reasons).toEqual([
      'dependency would run: pkg:calico:build',
      'file changed: _build/calico/build',
    ]);
    const text = await runCli(ws, ['info', 'iso'], { console: true });
    expect(text.stdout).toContain(
      'status: would run, because:\n  - dependency would run: pkg:calico:build\n  - file changed: _build/calico/build',
    );
  });

  it('clean -n lists, clean TASK removes only that task\u2019s targets and makes it run again', async () => {
    await runCli(ws, ['iso']);
    const dry = await runCli(ws, ['clean', '-n', 'pkg:calico:get']);
    expect(eventOf(dry.events, 'clean', 'pkg:calico:get')).toMatchObject({
      dryRun: true,
      removed: [ws.path('_build/calico/get')],
    });
    expect(ws.exists('_build/calico/get')).toBe(true);
    await runCli(ws, ['clean', 'pkg:calico:get']);
    expect(ws.exists('_build/calico/get')).toBe(false);
    expect(ws.exists('_build/calico/build')).toBe(true);
    const r = await runCli(ws, ['iso']);
    expect(tasksWith(r.events, 'start')).toEqual(['pkg:calico:get']);
  });

  it('clean without tasks cleans iso and its dependencies, never outside BUILD_ROOT', async () => {
    writeFileSync(`${outside.path}/user-file`, 'precious');
    const r = await runCli(ws, ['clean', 'escape']);
    expect(eventOf(r.events, 'clean', 'escape').refused).toEqual([`${outside.path}/user-file`]);
    await runCli(ws, ['clean']);
    for (const f of ['_build/iso', '_build/calico/build', '_build/calico/get'])
      expect(ws.exists(f)).toBe(false);
    expect(ws.exists('_build/salt/get')).toBe(true);
    expect(ws.exists('_build/.buildchain/state.json')).toBe(true);
  });

  it('forget makes up-to-date tasks run again', async () => {
    await runCli(ws, ['iso']);
    const f = await runCli(ws, ['forget', 'pkg:calico:*']);
    expect(eventOf(f.events, 'forget').tasks).toEqual(['pkg:calico:get', 'pkg:calico:build']);
    const r = await runCli(ws, ['iso']);
    expect(tasksWith(r.events, 'start')).toEqual(['pkg:calico:get', 'pkg:calico:build']);
    expect(tasksWith(r.events, 'skip', 'up-to-date')).toEqual(['iso']);
  });
});
