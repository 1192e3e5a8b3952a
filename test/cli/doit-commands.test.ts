/**
 * doit's commands as MetalK8s 2.4 users type them, through the real CLI: `list -p`, `--status`,
 * `--deps`, `-q`; `clean` of a group (its parts), `-c`, `-a`, `-n` and the directories a clean
 * leaves empty; `ignore` with doit's `!!`, undone by `forget`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventOf, parseNdjson, tasksWith } from '../helpers/ndjson.ts';
import { runCli } from '../helpers/run-cli.ts';
import { createWorkspace, type Workspace } from '../helpers/workspace.ts';

const TASKS = `
  const make = (name, out, extra = {}) => ({ name, targets: [out], clean: true, doc: 'makes ' + out,
    actions: [sh('mkdir -p "$(dirname ' + out + ')" && echo ' + name + ' > ' + out)], ...extra });
  return [
    make('images:pull:a', '_build/root/images/a/v1/manifest.json', { fileDeps: ['src.txt'] }),
    make('images:pull:b', '_build/root/images/b/v1/manifest.json', { fileDeps: ['src.txt'] }),
    { name: 'images', doc: 'every image', taskDeps: ['images:pull:*'] },
    make('_private', '_build/private', { fileDeps: ['src.txt'] }),
    make('iso', '_build/x.iso', { taskDeps: ['images'], fileDeps: ['src.txt'] }),
  ];`;

describe('doit commands', () => {
  let ws: Workspace;
  beforeEach(async () => {
    ws = await createWorkspace(TASKS);
    ws.write('src.txt', 'source\n');
  });
  afterEach(async () => {
    await ws.cleanup();
  });

  const names = async (args: string[]) =>
    parseNdjson((await runCli(ws, ['list', ...args])).stdout).map((e) => e.name);

  it('list: -p shows private tasks, -q names only, --deps the file deps', async () => {
    expect(await names([])).toEqual(['images', 'iso']);
    expect(await names(['-p'])).toEqual(['_private', 'images', 'iso']);
    const quiet = await runCli(ws, ['list', '-q', '--all'], { console: true });
    // --all adds the subtasks and the MetalK8s 2.4 names (aliases).
    expect(quiet.stdout).toBe(
      '_image_pull\n_image_pull:a\n_image_pull:b\nimages\nimages:pull:a\nimages:pull:b\niso\n',
    );
    const deps = await runCli(ws, ['list', '--deps', 'iso'], { console: true });
    expect(deps.stdout).toBe('iso  makes _build/x.iso\n -  src.txt\n\n');
  });

  it('list --status: R before a build, U after, E for a task that cannot run; read-only', async () => {
    const status = async () => {
      const r = await runCli(ws, ['list', '--status', '--all'], { console: true });
      expect(r.code).toBe(0);
      return r.stdout;
    };
    expect(await status()).toMatch(/^R images {2}/m);
    expect(ws.exists('_build/.buildchain/lock')).toBe(false);
    expect((await runCli(ws, ['iso'])).code).toBe(0);
    const after = await status();
    for (const n of ['images', 'images:pull:a', 'images:pull:b', 'iso'])
      expect(after).toMatch(new RegExp(`^U ${n} `, 'm'));
    ws.write('src.txt', 'changed\n');
    expect(await status()).toMatch(/^R iso /m);
    ws.remove('src.txt');
    expect(await status()).toMatch(/^E iso /m);
  });

  it('clean GROUP cleans its parts, not what it depends on through them; -n prints and keeps', async () => {
    expect((await runCli(ws, ['iso'])).code).toBe(0);
    const dry = await runCli(ws, ['clean', '-n', 'images'], { console: true });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain(
      `would remove ${ws.path('_build/root/images/a/v1/manifest.json')} (images:pull:a)`,
    );
    // The directories the removal would leave empty are listed too.
    expect(dry.stdout).toContain(`would remove ${ws.path('_build/root/images/a')} (images:pull:a)`);
    expect(ws.exists('_build/root/images/a/v1/manifest.json')).toBe(true);
    const r = await runCli(ws, ['clean', 'images']);
    expect(r.code).toBe(0);
    expect(tasksWith(r.events, 'clean').sort()).toEqual(['images:pull:a', 'images:pull:b']);
    expect(ws.exists('_build/root/images')).toBe(false);
    expect(ws.exists('_build/root')).toBe(false);
    expect(ws.exists('_build/x.iso')).toBe(true);
  });

  it('clean TASK leaves its deps and the directories still in use; -c cleans the deps too', async () => {
    expect((await runCli(ws, ['iso'])).code).toBe(0);
    await runCli(ws, ['clean', 'images:pull:a']);
    // Its empty version and image directories go; images/ still holds b.
    expect(ws.exists('_build/root/images/a')).toBe(false);
    expect(ws.exists('_build/root/images/b/v1/manifest.json')).toBe(true);
    await runCli(ws, ['clean', 'iso']);
    expect(ws.exists('_build/x.iso')).toBe(false);
    expect(ws.exists('_build/root/images/b/v1/manifest.json')).toBe(true);
    expect((await runCli(ws, ['iso'])).code).toBe(0);
    const dep = await runCli(ws, ['clean', '-c', 'iso']);
    expect(tasksWith(dep.events, 'clean').sort()).toEqual([
      'images:pull:a',
      'images:pull:b',
      'iso',
    ]);
    expect(ws.exists('_build/root')).toBe(false);
    expect(ws.exists('_build/private')).toBe(false);
  });

  it('clean -a (--all) cleans every task, private ones included', async () => {
    expect((await runCli(ws, ['iso', '_private'])).code).toBe(0);
    await runCli(ws, ['clean', '-a']);
    for (const f of ['_build/x.iso', '_build/private', '_build/root'])
      expect(ws.exists(f)).toBe(false);
    expect(ws.exists('_build/.buildchain')).toBe(true);
  });

  it('clean actions: the directories they leave empty around the targets go too', async () => {
    ws.setTasks(`return [
      { name: 'images:pull:a', targets: ['_build/root/images/a/v1/manifest.json'], fileDeps: ['src.txt'],
        actions: [sh('mkdir -p _build/root/images/a/v1 && echo m > _build/root/images/a/v1/manifest.json && echo b > _build/root/images/a/v1/blob')],
        clean: [sh('rm -rf _build/root/images/a/v1')] },
      { name: 'keep', targets: ['_build/root/keep'], fileDeps: ['src.txt'],
        actions: [sh('mkdir -p _build/root && echo k > _build/root/keep')] },
    ];`);
    expect((await runCli(ws, ['images:pull:a', 'keep'])).code).toBe(0);
    // A dry run names the clean actions it would run (it cannot know what they remove).
    const dry = await runCli(ws, ['clean', '-n', 'images:pull:a'], { console: true });
    expect(dry.stdout).toBe('would run sh -c rm -rf _build/root/images/a/v1 (images:pull:a)\n');
    expect(ws.exists('_build/root/images/a/v1/blob')).toBe(true);
    const r = await runCli(ws, ['clean', 'images:pull:a']);
    expect(eventOf(r.events, 'clean', 'images:pull:a').removed).toEqual([
      ws.path('_build/root/images/a'),
      ws.path('_build/root/images'),
    ]);
    expect(ws.exists('_build/root/images')).toBe(false);
    expect(ws.exists('_build/root/keep')).toBe(true);
    // Nothing left: a dry run has nothing to say.
    const none = await runCli(ws, ['clean', '-n', 'images:pull:a'], { console: true });
    expect(none.stdout).toBe('');
  });

  it('clean never removes a directory another task declares as its target', async () => {
    ws.setTasks(`return [
      { name: 'dir', targets: ['_build/shared'], actions: [sh('mkdir -p _build/shared')], uptodate: [true] },
      { name: 'file', targets: ['_build/shared/f'], clean: true, taskDeps: ['dir'],
        actions: [sh('echo x > _build/shared/f')], fileDeps: ['src.txt'] },
    ];`);
    expect((await runCli(ws, ['file'])).code).toBe(0);
    await runCli(ws, ['clean', 'file']);
    expect(ws.exists('_build/shared/f')).toBe(false);
    expect(ws.exists('_build/shared')).toBe(true);
  });

  it('ignore: the task and its dependents are skipped with !!, forget undoes it', async () => {
    const ig = await runCli(ws, ['ignore', 'images:pull:a'], { console: true });
    expect(ig.code).toBe(0);
    expect(ig.stdout).toBe('ignoring images:pull:a\n');
    const r = await runCli(ws, ['iso']);
    expect(r.code).toBe(0);
    expect(tasksWith(r.events, 'skip', 'ignored')).toEqual(['images:pull:a', 'images', 'iso']);
    expect(tasksWith(r.events, 'start')).toEqual(['images:pull:b']);
    expect(eventOf(r.events, 'skip', 'iso').reasons).toEqual(['dependency ignored: images']);
    expect(eventOf(r.events, 'summary').counts).toMatchObject({ done: 1, ignored: 3 });
    const text = await runCli(ws, ['iso'], { console: true });
    expect(text.stdout).toContain('!! images:pull:a (ignored');
    expect(text.stdout).toContain('!! iso (dependency ignored: images)');
    const status = await runCli(ws, ['list', '--status', '--all'], { console: true });
    expect(status.stdout).toMatch(/^I images:pull:a /m);
    const info = parseNdjson((await runCli(ws, ['info', 'images:pull:a'])).stdout)[0];
    expect(info).toMatchObject({ status: 'ignored' });
    await runCli(ws, ['forget', 'images:pull:a']);
    const again = await runCli(ws, ['iso']);
    expect(tasksWith(again.events, 'start')).toEqual(['images:pull:a', 'iso']);
    expect(ws.exists('_build/.buildchain/ignored.json')).toBe(false);
  });

  it('ignore without a task, and a damaged ignored.json, exit 2 naming the fix', async () => {
    const none = await runCli(ws, ['ignore'], { console: true });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('error: ignore needs at least one task name');
    mkdirSync(ws.path('_build/.buildchain'), { recursive: true });
    writeFileSync(ws.path('_build/.buildchain/ignored.json'), '{"not": "a list"}');
    const bad = await runCli(ws, ['iso'], { console: true });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('ignored.json: not a JSON array of task names');
    expect(bad.stderr).toContain('hint: delete');
    expect(ws.exists('_build/x.iso')).toBe(false);
    // forget (all) repairs it.
    expect((await runCli(ws, ['forget'])).code).toBe(0);
    expect((await runCli(ws, ['iso'])).code).toBe(0);
  });

  it('bad --shell exits 2', async () => {
    const r = await runCli(ws, ['tabcompletion', '--shell', 'fish'], { console: true });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--shell must be bash or zsh, got fish');
  });
});
