/**
 * I/O-bound tasks (`ioBound`, e.g. image pulls) run beside the `-n` workers when the build
 * cache is on (engine/scheduler.ts), as restores do; a failing one still fails the build,
 * naming it. Without the cache they take workers as any task. Against a real loopback
 * distribution registry with basic auth (the cache).
 */
import { describe, expect, it } from 'vitest';
import { missingTools } from '../helpers/require-tool.ts';
import { runCli } from '../helpers/run-cli.ts';
import { createWorkspace, type Workspace } from '../helpers/workspace.ts';
import type { JsonEvent } from '../helpers/ndjson.ts';
import { cacheRegistryHooks, type CacheRegistry } from './cache-fixture.ts';

const missing = missingTools('docker-registry', 'htpasswd');

const N = 4;
// p1..pN are I/O-bound (each sleeps 0.4 s, writing its start and end times); `cpu` is not;
// `all` needs every one. `bad` is I/O-bound and fails.
const TASKS = `
  const b = config.buildRoot;
  const io = [${Array.from({ length: N }, (_, i) => i + 1).join(', ')}].map((i) => ({
    name: 'p' + i,
    ioBound: true,
    targets: [b + '/out/p' + i + '.txt'],
    actions: [sh('mkdir -p _build/out && sleep 0.4 && echo ' + i + ' > _build/out/p' + i + '.txt')],
  }));
  return [
    ...io,
    {
      name: 'cpu',
      targets: [b + '/out/cpu.txt'],
      actions: [sh('mkdir -p _build/out && sleep 0.4 && echo cpu > _build/out/cpu.txt')],
    },
    {
      name: 'all',
      fileDeps: [...io.map((t) => t.targets[0]), b + '/out/cpu.txt'],
      targets: [b + '/all.txt'],
      actions: [sh('cat _build/out/*.txt > _build/all.txt')],
    },
    {
      name: 'bad',
      ioBound: true,
      actions: [sh('echo pull refused >&2; exit 3')],
    },
    { name: 'bad-and-all', taskDeps: ['bad', 'all'] },
  ];
`;

let reg: CacheRegistry;
const workspaces: Workspace[] = [];

async function workspace(): Promise<Workspace> {
  const ws = await createWorkspace(TASKS);
  workspaces.push(ws);
  return ws;
}

/** [start, end] (ms) of each task that ran, from its `start` and `done` events. */
function spans(events: readonly JsonEvent[], names: readonly string[]): [number, number][] {
  return names.map((n) => {
    const s = events.find((e) => e.event === 'start' && e.task === n);
    const d = events.find((e) => e.event === 'done' && e.task === n);
    return [Number(s?.ts), Number(d?.ts)] as [number, number];
  });
}

/** Most tasks in progress at one time. */
function maxOverlap(list: readonly [number, number][]): number {
  let best = 0;
  for (const [s] of list) best = Math.max(best, list.filter(([a, b]) => a <= s && s < b).length);
  return best;
}

const ALL = [...Array.from({ length: N }, (_, i) => `p${i + 1}`), 'cpu'];

describe.skipIf(missing.length > 0)('build cache: I/O-bound tasks beside the workers', () => {
  cacheRegistryHooks('mk8s-cache-io-', (r) => (reg = r), workspaces);

  it('with the cache on and one worker, the I/O-bound tasks run side by side with the CPU one', async () => {
    const ws = await workspace();
    const r = await runCli(ws, ['-n', '1', 'all'], { env: reg.env('ci/io', 'read') });
    expect(r.code, r.stderr).toBe(0);
    const list = spans(r.events, ALL);
    for (const [s, e] of list) expect(e).toBeGreaterThan(s);
    // One worker would run the five one after another (no overlap at all).
    expect(maxOverlap(list)).toBe(N + 1);
    expect(ws.read('_build/all.txt')).toBe('cpu\n1\n2\n3\n4\n');
  });

  it('without the cache, one worker runs them one at a time', async () => {
    const ws = await workspace();
    const r = await runCli(ws, ['-n', '1', 'all'], { env: {} });
    expect(r.code, r.stderr).toBe(0);
    expect(maxOverlap(spans(r.events, ALL))).toBe(1);
  });

  it('a failing I/O-bound task fails the build, naming it and its error', async () => {
    const ws = await workspace();
    const r = await runCli(ws, ['-n', '1', 'bad-and-all'], { env: reg.env('ci/io', 'read') });
    expect(r.code).toBe(1);
    const failed = r.events.filter((e) => e.event === 'fail');
    expect(failed.map((e) => e.task)).toContain('bad');
    expect(r.stderr + r.stdout).toMatch(/bad/);
    expect(r.stderr + r.stdout).toMatch(/pull refused/);
    expect(r.events.some((e) => e.event === 'done' && e.task === 'bad')).toBe(false);
    expect(r.stderr + r.stdout).not.toMatch(/\n\s+at .*\.ts:\d+/);
  });
});
