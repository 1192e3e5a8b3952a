/**
 * The no-op path (upToDateSync: no await, no object per task) must agree with the full
 * evaluation (evaluateTask) on the fingerprint and on "up to date", for every shape of task, and
 * the definition JSON written out by hand must be the JSON.stringify form the stored
 * fingerprints were made with.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeFingerprintsFor } from '../../buildchain/engine/code-fingerprint.ts';
import {
  actionIdentity,
  definitionJson,
  evaluateTask,
  upToDateSync,
  type EvaluateContext,
} from '../../buildchain/engine/evaluate.ts';
import type { Reporter } from '../../buildchain/engine/events.ts';
import { TaskGraph, type GraphNode } from '../../buildchain/engine/graph.ts';
import { runSchedule } from '../../buildchain/engine/scheduler.ts';
import { openSession, saveSession } from '../../buildchain/engine/session.ts';
import { cmd, fn, type Action, type TaskDefinition } from '../../buildchain/engine/task.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const silent: Reporter = { emit: () => undefined, close: () => Promise.resolve() };

/** The definition JSON as it was built before it was written out by hand. */
function definitionJsonReference(node: GraphNode, codeHash: (m: string) => string | undefined) {
  const def = node.def;
  const id = (a: Action): unknown => actionIdentity(a, codeHash);
  const clean = Array.isArray(def.clean)
    ? (def.clean as readonly Action[]).map(id)
    : (def.clean ?? false);
  return JSON.stringify({ a: (def.actions ?? []).map(id), t: node.targets, c: clean });
}

describe('definitionJson', () => {
  it('is the JSON.stringify form for every kind of action and clean setting', () => {
    const odd = 'quote " backslash \\ newline \n tab \t unicode é \u2028 emoji 😀 \u0001';
    const defs: TaskDefinition[] = [
      { name: 'none' },
      { name: 'cmd', actions: [cmd(['a', odd], { env: { K: odd }, cwd: '/x', input: odd })] },
      { name: 'fn', actions: [fn(odd, () => Promise.resolve()), fn('b', () => Promise.resolve())] },
      { name: 'plain', actions: [{ kind: 'function', label: odd, run: () => Promise.resolve() }] },
      { name: 'clean-true', targets: ['t1', `dir/${odd.replace(/\W/g, '_')}`], clean: true },
      { name: 'clean-false', targets: ['t2'], clean: false },
      {
        name: 'clean-actions',
        actions: [cmd(['x'])],
        clean: [cmd(['rm', odd]), fn('c', () => Promise.resolve())],
      },
    ];
    const graph = new TaskGraph('/r', defs);
    for (const codeHash of [() => undefined, (m: string) => `h-${m.length}`]) {
      for (const node of graph.nodes.values()) {
        expect(definitionJson(node, codeHash), node.name).toBe(
          definitionJsonReference(node, codeHash),
        );
      }
    }
  });
});

describe('upToDateSync', () => {
  let tmp: TempDir;
  let root: string;
  const defs = (): TaskDefinition[] => {
    const copy = (from: string, to: string) =>
      fn('copy "q"', () => {
        writeFileSync(path.join(root, to), readFileSync(path.join(root, from)));
        return Promise.resolve();
      });
    return [
      { name: 'leaf', fileDeps: ['in/a'], targets: ['out/a'], actions: [copy('in/a', 'out/a')] },
      {
        name: 'dup',
        fileDeps: ['in/b', 'in/a', 'in/b', 'out/a'],
        targets: ['out/b'],
        actions: [copy('in/b', 'out/b')],
      },
      {
        name: 'env',
        fileDeps: ['in/a'],
        envKeys: ['EV_ONE', 'EV_UNSET'],
        config: { k: ['v', 1] },
        targets: ['out/c'],
        taskDeps: ['leaf'],
        actions: [copy('in/a', 'out/c')],
        clean: [cmd(['rm', 'out/c'])],
      },
      {
        name: 'checked',
        uptodate: [true],
        targets: ['out/d'],
        actions: [copy('in/a', 'out/d')],
      },
      { name: 'many', fileDeps: ['in/a', 'in/b', 'out/b'], actions: [cmd(['true'])] },
      { name: 'group', taskDeps: ['leaf', 'dup', 'env', 'checked', 'many'] },
    ];
  };

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-eval-sync-');
    root = tmp.path;
    mkdirSync(path.join(root, 'in'));
    mkdirSync(path.join(root, 'out'));
    writeFileSync(path.join(root, 'in/a'), 'a');
    writeFileSync(path.join(root, 'in/b'), 'b');
  });
  afterAll(() => tmp.cleanup());

  const open = () => openSession(path.join(root, '_build/.buildchain'), root, {});
  /** The session of the build's state and the context the evaluations of a build get. */
  const evaluation = () => {
    const session = open();
    const ctx: EvaluateContext = {
      root,
      hasher: session.hasher,
      state: session.state,
      envValues: { EV_ONE: 'one' },
      fingerprints: new Map(),
    };
    return { session, ctx };
  };

  const schedule = async (graph: TaskGraph) => {
    const session = open();
    const r = await runSchedule({
      graph,
      selected: graph.select(['group']),
      workers: 1,
      keepGoing: false,
      dryRun: false,
      alwaysMake: false,
      verbose: false,
      state: session.state,
      hasher: session.hasher,
      tools: session.tools,
      envValues: { EV_ONE: 'one' },
      reporter: silent,
      signal: new AbortController().signal,
    });
    await saveSession(session);
    session.state.close();
    return r;
  };

  it('finds every task up to date, with the fingerprint the full evaluation gives', async () => {
    const first = await schedule(new TaskGraph(root, defs()));
    expect(first.failures).toEqual([]);
    expect(first.counts.done).toBe(5);
    // A later run: the stat records are trusted (settled), nothing to read.
    const graph = new TaskGraph(root, defs());
    expect(graph.get('dup').fileDeps.map((f) => path.relative(root, f))).toEqual([
      'in/b',
      'in/a',
      'out/a',
    ]);
    const { session, ctx } = evaluation();
    const fingerprints = ctx.fingerprints as Map<string, string>;
    const code = codeFingerprintsFor(session.hasher);
    for (const name of graph.select(['group'])) {
      const node = graph.get(name);
      for (const a of node.def.actions ?? [])
        if (a.kind === 'function' && a.module !== undefined) await code.hash(a.module);
      const sync = upToDateSync(node, ctx, {});
      const full = await evaluateTask(node, ctx, { toolVersions: {}, alwaysMake: false });
      // A group is never "up to date" by the rules (it has nothing to run): only its fingerprint counts.
      if (!node.isGroup) expect(full.reasons, name).toEqual([]);
      expect(sync, name).toBe(full.fp);
      // The parts' JSON (written out by hand) is what JSON.stringify gives for them.
      const partsText = full.partsJson();
      expect(JSON.stringify(JSON.parse(partsText)), name).toBe(partsText);
      expect(Object.keys(JSON.parse(partsText) as object)).toEqual([
        'actions',
        'config',
        'env',
        'tools',
        'files',
        'deps',
      ]);
      if (!node.isGroup) expect(partsText, name).toBe(session.state.get(name)?.parts);
      if (!node.isGroup) expect(sync, name).toBe(session.state.get(name)?.fp);
      fingerprints.set(name, full.fp);
    }
    session.state.close();
    const again = await schedule(new TaskGraph(root, defs()));
    expect(again.counts.upToDate).toBe(5);
  });

  it('leaves a changed task to the full evaluation, which says why', async () => {
    writeFileSync(path.join(root, 'in/b'), 'B');
    const graph = new TaskGraph(root, defs());
    const { session, ctx } = evaluation();
    expect(upToDateSync(graph.get('dup'), ctx, {})).toBeUndefined();
    const full = await evaluateTask(graph.get('dup'), ctx, { toolVersions: {}, alwaysMake: false });
    expect(full.reasons).toEqual(['file changed: in/b']);
    // Another env value: the sync path gives way too (a stored fingerprint that differs).
    const other = { ...ctx, envValues: { EV_ONE: 'two' } };
    expect(upToDateSync(graph.get('env'), other, {})).toBeUndefined();
    const env = await evaluateTask(graph.get('env'), other, {
      toolVersions: {},
      alwaysMake: false,
    });
    expect(env.reasons).toEqual(['env changed: EV_ONE']);
    session.state.close();
  });
});

describe('the schedule of a no-op (the sweep)', () => {
  let tmp: TempDir;
  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-sweep-');
    mkdirSync(path.join(tmp.path, 'in'));
    mkdirSync(path.join(tmp.path, 'out'));
    writeFileSync(path.join(tmp.path, 'in/u'), 'u1');
    writeFileSync(path.join(tmp.path, 'in/x'), 'x');
  });
  afterAll(() => tmp.cleanup());

  const write = (to: string, text: () => string) =>
    fn('write', () => {
      writeFileSync(path.join(tmp.path, to), text());
      return Promise.resolve();
    });
  /** `down` takes `up`'s fingerprint (an explicit dep with a target), not its file. */
  const defs = (): TaskDefinition[] => [
    {
      name: 'up',
      fileDeps: ['in/u'],
      targets: ['out/u'],
      actions: [write('out/u', () => readFileSync(path.join(tmp.path, 'in/u'), 'utf8'))],
    },
    {
      name: 'down',
      taskDeps: ['up'],
      uptodate: [true],
      targets: ['out/down'],
      actions: [write('out/down', () => 'constant')],
    },
    { name: 'other', fileDeps: ['in/x'], targets: ['out/x'], actions: [write('out/x', () => 'x')] },
    { name: 'all', taskDeps: ['down', 'other'] },
  ];
  const build = async () => {
    const graph = new TaskGraph(tmp.path, defs());
    const session = openSession(path.join(tmp.path, '_build/.buildchain'), tmp.path, {});
    const events: string[] = [];
    const reporter: Reporter = {
      emit: (e) => {
        if (e.event === 'start') events.push(`${e.task}: ${e.reasons.join('; ')}`);
      },
      close: () => Promise.resolve(),
    };
    const r = await runSchedule({
      graph,
      selected: graph.select(['all']),
      workers: 1,
      keepGoing: false,
      dryRun: false,
      alwaysMake: false,
      verbose: false,
      state: session.state,
      hasher: session.hasher,
      tools: session.tools,
      envValues: {},
      reporter,
      signal: new AbortController().signal,
    });
    await saveSession(session);
    session.state.close();
    return { counts: r.counts, outcomes: Object.fromEntries(r.outcomes), events };
  };

  it('decides the up-to-date tasks at once and leaves the rest, and their readers, to the schedule', async () => {
    expect((await build()).counts.done).toBe(3);
    // Nothing changed: all up to date, `down` taking `up`'s stored fingerprint.
    const noop = await build();
    expect(noop.outcomes).toEqual({
      up: 'up-to-date',
      down: 'up-to-date',
      other: 'up-to-date',
      all: 'group',
    });
    // `up`'s input changed: `up` runs, then `down` (its dependency's fingerprint changed),
    // `other` stays up to date.
    writeFileSync(path.join(tmp.path, 'in/u'), 'u2');
    const changed = await build();
    expect(changed.events).toEqual(['up: file changed: in/u', 'down: dependency changed: up']);
    expect(changed.outcomes).toMatchObject({ up: 'done', down: 'done', other: 'up-to-date' });
    expect((await build()).counts.upToDate).toBe(3);
  });
});
