/**
 * Runs the selected tasks in topological order with up to `workers` at a time. A failure
 * stops scheduling new tasks (running ones finish) unless `keepGoing`, which runs everything
 * not depending on a failure. An aborted signal (SIGINT/SIGTERM) kills running commands and
 * records nothing for unfinished tasks.
 */
import path from 'node:path';
import type { Reporter, SummaryCounts } from './events.ts';
import { countOutcomes, failEvent, type TaskOutcome } from './outcomes.ts';
import {
  evaluateTask,
  pathRecord,
  upToDateSync,
  type EvaluateContext,
  type Evaluation,
} from './evaluate.ts';
import { toTaskError } from './failures.ts';
import { NEEDS_HASHING, type FileHasher } from './fingerprint.ts';
import type { GraphNode, TaskGraph } from './graph.ts';
import { runActions } from './run-actions.ts';
import type { StateStore } from './state-store.ts';
import type { TaskCache } from './cache/task-cache.ts';
import { chainWeights, ReadyQueue } from './ready-queue.ts';
import { TaskError } from './task.ts';
import type { ToolChecker } from './tool-check.ts';

export interface SchedulerOptions {
  readonly graph: TaskGraph;
  /** Tasks to run, dependencies first (TaskGraph.select). */
  readonly selected: readonly string[];
  /** Parallel tasks, at least 1. */
  readonly workers: number;
  readonly keepGoing: boolean;
  /** Evaluate only: report what would run and why. */
  readonly dryRun: boolean;
  /** Run every selected task whatever its state. */
  readonly alwaysMake: boolean;
  /** Emit output events for every task. */
  readonly verbose: boolean;
  readonly state: StateStore;
  readonly hasher: FileHasher;
  readonly tools: ToolChecker;
  readonly envValues: Readonly<Record<string, string | undefined>>;
  readonly reporter: Reporter;
  readonly signal: AbortSignal;
  /** The build cache (BUILD_CACHE): cacheable tasks restore from it, and save to it. */
  readonly cache?: TaskCache;
  /** Tasks set aside by `ignore`: skipped, with every task depending on them (doit's `!!`). */
  readonly ignored?: ReadonlySet<string>;
}

export type { TaskOutcome } from './outcomes.ts';

export interface ScheduleResult {
  readonly outcomes: ReadonlyMap<string, TaskOutcome>;
  readonly counts: SummaryCounts;
  readonly failures: readonly string[];
  readonly interrupted: boolean;
}

const FLUSH_INTERVAL_MS = 2000;

/** I/O-bound tasks (`ioBound`, with the build cache on) running beside the workers at most. */
const IO_LANE_SLOTS = 6;

/** The reasons of a skipped task found up to date (shared, never written to). */
const NO_REASONS: readonly string[] = Object.freeze([]);

/** The tool versions of a task naming no tool. */
const NO_TOOLS: Readonly<Record<string, string>> = Object.freeze({});

/** The declared env keys with their effective values (unset keys are left out). */
function declaredEnv(
  keys: readonly string[],
  values: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const k of keys) {
    const v = values[k];
    // An empty value means "unset": tools such as xorriso reject SOURCE_DATE_EPOCH=''.
    if (v !== undefined && v !== '') env[k] = v;
  }
  return env;
}

/** Runs the schedule; never throws for task failures (they are outcomes and events). */
export async function runSchedule(opts: SchedulerOptions): Promise<ScheduleResult> {
  return new Schedule(opts).run();
}

class Schedule {
  private readonly o: SchedulerOptions;
  private readonly inRun = new Set<string>();
  private readonly remaining = new Map<string, number>();
  private readonly dependents = new Map<string, string[]>();
  /** Ready tasks, the one unblocking the most work first (see ready-queue.ts). */
  private readonly ready: ReadyQueue;
  /** Tasks being processed (a dynamic-deps task may be queued again meanwhile). */
  private readonly active = new Set<string>();
  private running = 0;
  private stopping = false;
  private readonly outcomes = new Map<string, TaskOutcome>();
  private readonly fingerprints = new Map<string, string>();
  private readonly dynamicDone = new Set<string>();
  /** Dry run: tasks that would run only because they always do (their output is assumed unchanged). */
  private readonly alwaysOnly = new Set<string>();
  private readonly failures: string[] = [];
  private finished: (() => void) | undefined;
  /** Tasks restoring from the cache without a worker (see restoreOffWorker). */
  private readonly released = new Set<string>();
  /** Ready cacheable tasks: started at once, without a worker (see queue). */
  private readonly cacheLane: string[] = [];
  /** Ready I/O-bound tasks (`ioBound`, the build cache on): run beside the workers. */
  private readonly ioLane: string[] = [];
  /** I/O-bound tasks running beside the workers (at most IO_LANE_SLOTS). */
  private readonly onIoLane = new Set<string>();
  /** Tasks whose restore missed, waiting for a worker to run their actions. */
  private readonly waiting: { name: string; resume: () => void }[] = [];
  /** What evaluating a task reads (one object for the run). */
  private readonly ctx: EvaluateContext;

  constructor(opts: SchedulerOptions) {
    this.o = opts;
    this.ctx = {
      root: opts.graph.root,
      hasher: opts.hasher,
      state: opts.state,
      envValues: opts.envValues,
      fingerprints: this.fingerprints,
    };
    // One worker runs one task at a time whatever the order: ready order (definition order)
    // kept, and no weighing pass over a large graph.
    const ranks =
      opts.workers > 1 ? chainWeights(opts.selected, (n) => opts.graph.get(n).deps) : undefined;
    this.ready = new ReadyQueue(ranks === undefined ? undefined : (n) => ranks.get(n) ?? 0);
  }

  async run(): Promise<ScheduleResult> {
    this.preflight();
    this.sweep();
    this.add(this.o.selected);
    const timer = setInterval(() => {
      this.o.state.flush();
    }, FLUSH_INTERVAL_MS);
    const onAbort = (): void => {
      this.stopping = true;
    };
    this.o.signal.addEventListener('abort', onAbort, { once: true });
    try {
      await new Promise<void>((resolve) => {
        this.finished = resolve;
        this.pump();
      });
    } finally {
      clearInterval(timer);
      this.o.signal.removeEventListener('abort', onAbort);
      this.o.state.flush();
    }
    return this.result();
  }

  /** Fails at once every selected task whose tools are missing (before anything runs). */
  private preflight(): void {
    for (const name of this.o.selected) {
      const tools = this.o.graph.get(name).def.tools ?? [];
      try {
        this.o.tools.check(tools);
      } catch (err) {
        this.fail(name, toTaskError(err, false), 0);
        this.finish(name, 'failed');
        if (!this.o.keepGoing) this.stopping = true;
      }
    }
  }

  private add(names: readonly string[]): void {
    for (const name of names) {
      if (this.inRun.has(name)) continue;
      this.inRun.add(name);
      // Decided already (a failed tool check, or found up to date by the sweep).
      if (!this.outcomes.has(name)) this.waitFor(name);
    }
  }

  /**
   * Before anything is queued: the selected tasks, in their order (dependencies first), that
   * are up to date (or groups) as {@link trySkipSync} finds them, every dependency having been
   * found so just before. What a no-op of a large graph spends no dependency counts, queue or
   * dependents lists on; what the schedule would do anyway (nothing runs before these checks,
   * as no task depends on one that runs), in the same order. Any other task, and every task
   * depending on it, is left to the schedule. Not with `ignore`d tasks, a dry run or
   * `--always-make` (each asks more of the order, and a no-op has none of them).
   */
  private sweep(): void {
    const o = this.o;
    if (
      this.stopping ||
      o.alwaysMake ||
      o.dryRun ||
      (o.ignored !== undefined && o.ignored.size > 0)
    )
      return;
    const outcomes = this.outcomes;
    for (const name of o.selected) {
      if (outcomes.has(name)) continue;
      const node = o.graph.get(name);
      const deps = node.deps;
      let ready = true;
      for (let i = 0; i < deps.length; i++) {
        const d = outcomes.get(deps[i] as string);
        if (d !== 'up-to-date' && d !== 'group') {
          ready = false;
          break;
        }
      }
      if (ready) this.skipIfUpToDate(name, node);
    }
  }

  /** Counts the unfinished deps of `name`; queues it when there are none. */
  private waitFor(name: string): void {
    let count = 0;
    for (const d of this.o.graph.get(name).deps) {
      if (this.outcomes.has(d)) continue;
      count++;
      const list = this.dependents.get(d);
      if (list === undefined) this.dependents.set(d, [name]);
      else list.push(name);
    }
    this.remaining.set(name, count);
    if (count === 0) this.queue(name);
  }

  private pump(): void {
    while (this.running < this.o.workers && this.waiting.length > 0) {
      const w = this.waiting.shift();
      if (w === undefined) break;
      this.released.delete(w.name);
      this.running++;
      w.resume();
    }
    while (!this.stopping && this.cacheLane.length > 0) this.start(this.cacheLane.shift(), false);
    while (!this.stopping && this.onIoLane.size < IO_LANE_SLOTS && this.ioLane.length > 0)
      this.start(this.ioLane.shift(), 'io');
    while (!this.stopping && this.running < this.o.workers && this.ready.size > 0)
      this.start(this.ready.pop(), true);
    if (
      this.running === 0 &&
      this.released.size === 0 &&
      this.onIoLane.size === 0 &&
      (this.stopping ||
        (this.ready.size === 0 && this.cacheLane.length === 0 && this.ioLane.length === 0))
    )
      this.finished?.();
  }

  /**
   * Processes a ready task: on a worker, without one (a cacheable task, see queue), or on the
   * I/O lane (`'io'`).
   */
  private start(name: string | undefined, onWorker: boolean | 'io'): void {
    if (name === undefined || this.outcomes.has(name) || this.active.has(name)) return;
    if (this.skipIgnored(name) || this.trySkipSync(name)) return;
    if (onWorker === 'io') this.onIoLane.add(name);
    else if (onWorker) this.running++;
    else this.released.add(name);
    this.active.add(name);
    void this.process(name).finally(() => {
      if (!this.released.delete(name) && !this.onIoLane.delete(name)) this.running--;
      this.active.delete(name);
      this.pump();
    });
  }

  /**
   * Queues a ready task. A cacheable one (the build cache on) goes to the cache lane: it is
   * evaluated and looked up at once, holding no worker whatever the workers run meanwhile (a
   * restore is I/O; a miss waits for a worker, see restoreOffWorker). An I/O-bound one (an
   * image pull, whose blobs come from the cache) goes to the I/O lane, beside the workers too.
   */
  private queue(name: string): void {
    const cache = this.o.cache;
    if (cache === undefined) this.ready.push(name);
    else if (!this.o.alwaysMake && cache.covers(this.o.graph.get(name))) this.cacheLane.push(name);
    else if (this.o.graph.get(name).def.ioBound === true) this.ioLane.push(name);
    else this.ready.push(name);
  }

  private finish(name: string, outcome: TaskOutcome): void {
    this.outcomes.set(name, outcome);
    const dependents = this.dependents.get(name);
    if (dependents === undefined) return;
    for (const d of dependents) {
      const left = (this.remaining.get(d) ?? 1) - 1;
      this.remaining.set(d, left);
      if (left === 0 && !this.outcomes.has(d)) this.queue(d);
    }
  }

  private isBad(name: string): boolean {
    const o = this.outcomes.get(name);
    return o === 'failed' || o === 'blocked' || o === 'aborted';
  }

  private async process(name: string): Promise<void> {
    const node = this.o.graph.get(name);
    const bad = node.deps.find((d) => this.isBad(d));
    if (bad !== undefined) {
      this.o.reporter.emit({
        event: 'skip',
        task: name,
        reason: 'blocked',
        reasons: [`dependency failed: ${bad}`],
      });
      this.finish(name, 'blocked');
      return;
    }
    const started = Date.now();
    try {
      if (node.def.dynamicDeps !== undefined && !this.dynamicDone.has(name)) {
        this.dynamicDone.add(name);
        const extra = await node.def.dynamicDeps.compute();
        const added = this.o.graph.addDynamicDeps(name, extra.fileDeps ?? [], extra.taskDeps ?? []);
        if (added.length > 0) {
          this.add(this.o.graph.closure(added));
          this.waitFor(name);
          // Queued again by waitFor when nothing is left to wait for: run now (pump skips it).
          if (this.remaining.get(name) !== 0) return;
        }
      }
      await this.evaluateAndRun(name, started);
    } catch (err) {
      const aborted = this.o.signal.aborted;
      const e = toTaskError(err, aborted);
      this.fail(name, e, Date.now() - started);
      this.finish(name, e.reason === 'aborted' ? 'aborted' : 'failed');
      if (!this.o.keepGoing || e.reason === 'aborted') this.stopping = true;
    }
  }

  /** Skips a task that is ignored or depends on an ignored one (as doit does). */
  private skipIgnored(name: string): boolean {
    const ignored = this.o.ignored;
    if (ignored === undefined || ignored.size === 0) return false;
    const by = ignored.has(name)
      ? undefined
      : this.o.graph.get(name).deps.find((d) => this.outcomes.get(d) === 'ignored');
    if (by === undefined && !ignored.has(name)) return false;
    this.o.reporter.emit({
      event: 'skip',
      task: name,
      reason: 'ignored',
      reasons: [
        by === undefined ? 'ignored (forget it to build it again)' : `dependency ignored: ${by}`,
      ],
    });
    this.finish(name, 'ignored');
    return true;
  }

  /**
   * Skips an up-to-date task (or a group, or a would-run task in a dry run) without any
   * await when everything is already known: a no-op build of 10 000 tasks then allocates no
   * promise per task. Returns false when the task needs the asynchronous path.
   */
  private trySkipSync(name: string): boolean {
    const o = this.o;
    const node = o.graph.get(name);
    if (node.def.dynamicDeps !== undefined || o.alwaysMake) return false;
    for (const d of node.deps) {
      if (this.isBad(d) || (o.dryRun && this.outcomes.get(d) === 'would-run')) return false;
    }
    return this.skipIfUpToDate(name, node);
  }

  /** {@link trySkipSync} once the task's dependencies are known to be neither bad nor to run. */
  private skipIfUpToDate(name: string, node: GraphNode): boolean {
    const o = this.o;
    if (node.def.dynamicDeps !== undefined) return false;
    const tools = node.def.tools;
    const toolVersions =
      tools === undefined || tools.length === 0 ? NO_TOOLS : o.tools.versionsSync(tools);
    if (toolVersions === undefined) return false;
    const fp = upToDateSync(node, this.ctx, toolVersions);
    if (fp === undefined) return false;
    // Kept for the tasks taking it into their fingerprint (fingerprintDeps), unless it is the
    // stored one, where they find it anyway (see evaluate.ts partsWithout): a no-op keeps no
    // map of 10 000 fingerprints.
    if (node.isGroup || o.state.fingerprintOf(name) !== fp) this.fingerprints.set(name, fp);
    const reason = node.isGroup ? 'no-actions' : 'up-to-date';
    o.reporter.emit({ event: 'skip', task: name, reason, reasons: NO_REASONS });
    this.finish(name, node.isGroup ? 'group' : 'up-to-date');
    return true;
  }

  private async evaluateAndRun(name: string, started: number): Promise<void> {
    const o = this.o;
    const node = o.graph.get(name);
    const toolVersions =
      (node.def.tools ?? []).length > 0 ? await o.tools.versionsOf(node.def.tools ?? []) : {};
    const depsWouldRun = o.dryRun
      ? node.deps.filter((d) => this.outcomes.get(d) === 'would-run' && !this.alwaysOnly.has(d))
      : [];
    const ev = await evaluateTask(node, this.ctx, {
      toolVersions,
      alwaysMake: o.alwaysMake,
      depsWouldRun,
    });
    this.fingerprints.set(name, ev.fp);
    this.checkFileDeps(name, ev, depsWouldRun.length > 0);
    if (node.isGroup) {
      o.reporter.emit({ event: 'skip', task: name, reason: 'no-actions', reasons: [] });
      this.finish(name, 'group');
      return;
    }
    if (ev.reasons.length === 0) {
      o.reporter.emit({ event: 'skip', task: name, reason: 'up-to-date', reasons: [] });
      this.finish(name, 'up-to-date');
      return;
    }
    if (o.dryRun) {
      if (ev.reasons.length === 1 && ev.reasons[0]?.startsWith('always runs') === true)
        this.alwaysOnly.add(name);
      o.reporter.emit({ event: 'skip', task: name, reason: 'dry-run', reasons: ev.reasons });
      this.finish(name, 'would-run');
      return;
    }
    const lastObserved = o.state.get(name)?.observed;
    o.state.invalidate(name);
    for (const [t, h] of ev.targets) {
      o.hasher.invalidate(t);
      if (h?.startsWith('d:') === true) o.hasher.forgetUnder(t);
    }
    const cached =
      o.alwaysMake || o.cache === undefined ? undefined : await this.restoreOffWorker(name, node);
    if (cached !== undefined) {
      await this.record(name, ev);
      const { key, bytes } = cached;
      o.reporter.emit({
        event: 'cached',
        task: name,
        key,
        bytes,
        durationMs: Date.now() - started,
      });
      this.finish(name, 'cached');
      return;
    }
    o.reporter.emit({
      event: 'start',
      task: name,
      title: node.def.title ?? name,
      reasons: ev.reasons,
    });
    await runActions(node.def.actions ?? [], {
      task: name,
      root: o.graph.root,
      signal: o.signal,
      reporter: o.reporter,
      verbose: o.verbose || node.def.verbose === true,
      env: declaredEnv(node.def.envKeys ?? [], o.envValues),
      lastObserved,
    });
    if (o.signal.aborted) throw new TaskError('aborted', 'interrupted');
    await this.record(name, ev);
    if (o.cache !== undefined) await o.cache.save(node);
    o.reporter.emit({ event: 'done', task: name, durationMs: Date.now() - started });
    this.finish(name, 'done');
  }

  /**
   * A cacheable task's restore is I/O (registry, disk): it holds no worker meanwhile, so that
   * other tasks start (the cache bounds the restores at a time); a miss waits for a worker
   * again before its actions run.
   */
  private async restoreOffWorker(
    name: string,
    node: GraphNode,
  ): Promise<Awaited<ReturnType<TaskCache['restore']>>> {
    const cache = this.o.cache;
    if (cache === undefined || !cache.covers(node)) return undefined;
    if (!this.released.has(name)) {
      this.running--;
      this.released.add(name);
      this.pump();
    }
    let restored: Awaited<ReturnType<TaskCache['restore']>> = undefined;
    try {
      restored = await cache.restore(node);
    } finally {
      if (restored === undefined)
        await new Promise<void>((resume) => {
          this.waiting.push({ name, resume });
          this.pump();
        });
    }
    return restored;
  }

  /** Hashes the targets the task left and records its state (after a run or a restore). */
  private async record(name: string, ev: Evaluation): Promise<void> {
    const o = this.o;
    const node = o.graph.get(name);
    const targets = pathRecord();
    const missing: string[] = [];
    for (const t of node.targets) {
      o.hasher.invalidate(t);
      const now = o.hasher.hashSync(t);
      const h = now === NEEDS_HASHING ? await o.hasher.hash(t) : now;
      // A directory target may not have existed before the run.
      if (h?.startsWith('d:') === true) o.hasher.forgetUnder(t);
      if (h === undefined) missing.push(path.relative(o.graph.root, t));
      else targets[t] = h;
    }
    if (missing.length > 0) {
      throw new TaskError('target-not-produced', `target-not-produced: ${missing.join(', ')}`, {
        hint: `the actions of ${name} succeeded but did not create its declared targets`,
      });
    }
    const check = node.def.targetCheck;
    const observed = check === undefined ? undefined : await check.observe();
    o.state.set(name, {
      fp: ev.fp,
      parts: ev.partsJson(),
      targets,
      ...(observed === undefined ? {} : { observed }),
    });
  }

  /** Throws `missing-file-dep` for a file dep that does not exist and that no task produces. */
  private checkFileDeps(name: string, ev: Evaluation, depWouldRun: boolean): void {
    const files = ev.files;
    // The record's keys are the node's file deps (an array walks faster than a dictionary).
    for (const file of this.o.graph.get(name).fileDeps) {
      if (files[file] !== '') continue;
      const producers = [...this.o.graph.producersOf([file], name)];
      if (depWouldRun && producers.some((p) => this.outcomes.get(p) === 'would-run')) continue;
      const rel = path.relative(this.o.graph.root, file);
      throw new TaskError(
        'missing-file-dep',
        producers.length > 0
          ? `missing-file-dep: ${rel} (expected from ${producers.join(', ')})`
          : `missing-file-dep: ${rel} (needed by ${name}; no task produces it)`,
        {
          hint: 'create the file, fix the path, or declare it as a target of the task producing it',
        },
      );
    }
  }

  private fail(name: string, e: TaskError, durationMs: number): void {
    this.failures.push(name);
    this.o.reporter.emit(failEvent(name, e, durationMs));
  }

  private result(): ScheduleResult {
    return {
      outcomes: this.outcomes,
      counts: countOutcomes(this.outcomes, this.inRun),
      failures: this.failures,
      interrupted: this.o.signal.aborted,
    };
  }
}
