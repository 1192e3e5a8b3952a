/**
 * Dependencies computed after other tasks ran (doit's calc_dep/create_after), and the output
 * options: --json-log, -v (streamed output) and the console markers on a pipe.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventOf, parseNdjson, tasksWith } from '../helpers/ndjson.ts';
import { runCli } from '../helpers/run-cli.ts';
import { createWorkspace, type Workspace } from '../helpers/workspace.ts';

// gen fills _build/root/ from list.txt (one file per line); iso depends on whatever is there.
const TASKS = `
  return [
    { name: 'gen', fileDeps: ['list.txt'], targets: ['_build/root'],
      actions: [sh('rm -rf _build/root && mkdir -p _build/root && while read f; do echo "$f" > "_build/root/$f"; done < list.txt')] },
    { name: 'iso', targets: ['_build/iso.txt'],
      dynamicDeps: { after: ['gen'], compute: async () => ({
        fileDeps: (await fs.readdir('_build/root')).sort().map((f) => '_build/root/' + f) }) },
      actions: [sh('cat _build/root/* > _build/iso.txt; echo "built $(wc -l < _build/iso.txt) lines"')] },
  ];`;

describe('dynamic deps and output options', () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await createWorkspace(TASKS);
    ws.write('list.txt', 'a\nb\n');
  });
  afterAll(() => ws.cleanup());

  it('joins the computed file deps before the up-to-date check', async () => {
    const first = await runCli(ws, ['iso', '--json-log', ws.path('log.ndjson')]);
    expect(first.code, first.stderr).toBe(0);
    expect(ws.read('_build/iso.txt')).toBe('a\nb\n');
    // The log file holds the same events as stdout.
    expect(parseNdjson(readFileSync(ws.path('log.ndjson'), 'utf8')).map((e) => e.event)).toEqual(
      first.events.map((e) => e.event),
    );
    const noop = await runCli(ws, ['iso']);
    expect(tasksWith(noop.events, 'skip', 'up-to-date')).toEqual(['gen', 'iso']);
    ws.write('list.txt', 'a\nb\nc\n');
    const more = await runCli(ws, ['iso']);
    expect(eventOf(more.events, 'start', 'iso').reasons).toEqual(['file added: _build/root/c']);
    expect(ws.read('_build/iso.txt')).toBe('a\nb\nc\n');
  });

  it('streams action output with -v and prints doit markers on a pipe', async () => {
    const verbose = await runCli(ws, ['-a', '-v', 'iso']);
    expect(eventOf(verbose.events, 'output', 'iso')).toMatchObject({
      stream: 'stdout',
      line: 'built 3 lines',
    });
    const plain = await runCli(ws, ['-a', 'iso'], { console: true });
    expect(plain.stdout.split('\n')).toEqual(expect.arrayContaining(['.. gen', '.. iso']));
    const quiet = await runCli(ws, ['-q', 'iso'], { console: true });
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toBe('');
    const noop = await runCli(ws, ['iso'], { console: true });
    expect(noop.stdout).toMatch(
      /^sources: embedded mirror \(stand-in content, not a release\)\n-- gen\n-- iso\nbuild ok: 0 run, 2 up to date in \d+\.\ds\n$/,
    );
  });
});
