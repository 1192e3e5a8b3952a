/**
 * `clean`: removes the targets of tasks (only paths strictly under BUILD_ROOT once resolved,
 * never through a symlink leading out of it, never the engine's own state directory) or runs
 * their clean actions; dependents first. A directory left empty by a removal goes too (up to
 * BUILD_ROOT, never a directory another task declares as its target).
 */
import { readdirSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import {
  existsNoFollow,
  FenceError,
  isAtOrInside,
  isInside,
  removeInsideSync,
  resolveParentReal,
  resolveReal,
} from '../lib/fs/fence.ts';
import type { Reporter } from './events.ts';
import type { TaskGraph } from './graph.ts';
import { runActions } from './run-actions.ts';
import type { Action } from './task.ts';

export interface CleanOptions {
  readonly graph: TaskGraph;
  /** Tasks to clean, in topological order (they are cleaned in reverse). */
  readonly tasks: readonly string[];
  readonly buildRoot: string;
  readonly stateDir: string;
  readonly dryRun: boolean;
  readonly reporter: Reporter;
  readonly signal: AbortSignal;
}

/**
 * True when the target `t` may be removed: resolved without following its last component, it
 * is strictly inside the resolved build directory and neither is, holds nor lies in the state
 * directory (checked as written and resolved).
 */
function isRemovable(t: string, buildRoot: string, stateDir: string): boolean {
  const real = resolveParentReal(t);
  if (!isInside(resolveReal(buildRoot), real)) return false;
  const states = [stateDir, resolveReal(stateDir), resolveParentReal(stateDir)];
  return !states.some(
    (s) =>
      isAtOrInside(s, real) || isAtOrInside(real, s) || isAtOrInside(s, t) || isAtOrInside(t, s),
  );
}

/** Removes `t` inside the build directory; false when the fence refused it. */
function removeTarget(t: string, buildRoot: string): boolean {
  try {
    removeInsideSync(buildRoot, t);
    return true;
  } catch (err) {
    if (err instanceof FenceError) return false;
    throw err;
  }
}

const fileDepSets = new WeakMap<TaskGraph, Set<string>>();

/** Every file dep of the graph (a directory among them is never pruned). */
function fileDepsOf(graph: TaskGraph): Set<string> {
  let set = fileDepSets.get(graph);
  if (set === undefined) {
    set = new Set([...graph.nodes.values()].flatMap((n) => n.fileDeps));
    fileDepSets.set(graph, set);
  }
  return set;
}

/**
 * The parent directories of `removed` that are then empty (with a dry run: would be, their
 * entries all being in `gone`), deepest first; removed unless `opts.dryRun`. Stops at BUILD_ROOT,
 * at the state directory, at a directory that a task outside `cleaning` declares as target,
 * and at a file dep of any task.
 */
function pruneEmptyParents(
  removed: readonly string[],
  gone: Set<string>,
  cleaning: ReadonlySet<string>,
  opts: CleanOptions,
): string[] {
  const realRoot = resolveReal(opts.buildRoot);
  const pruned: string[] = [];
  for (const t of removed) {
    for (let dir = path.dirname(t); ; dir = path.dirname(dir)) {
      if (gone.has(dir) || !isInside(realRoot, resolveReal(dir))) break;
      if (isAtOrInside(dir, opts.stateDir)) break;
      const owner = opts.graph.targetOwner.get(dir);
      if (owner !== undefined && !cleaning.has(owner)) break;
      if (fileDepsOf(opts.graph).has(dir)) break;
      let entries: string[];
      try {
        entries = readdirSync(dir);
      } catch (err) {
        // Gone already (a clean action removed it): look at its parent.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        break;
      }
      if (!entries.every((e) => gone.has(path.join(dir, e)))) break;
      if (!opts.dryRun) {
        try {
          rmdirSync(dir);
        } catch {
          break; // something appeared meanwhile: keep it
        }
      }
      gone.add(dir);
      pruned.push(dir);
    }
  }
  return pruned;
}

/** An action as `clean` prints it: the argv, or the function's label. */
function describeAction(a: Action): string {
  return a.kind === 'command' ? a.argv.join(' ') : a.label;
}

/** Cleans the tasks; returns the names whose targets were (or would be) removed. */
export async function cleanTasks(opts: CleanOptions): Promise<string[]> {
  const cleaned: string[] = [];
  const cleaning = new Set(opts.tasks);
  const gone = new Set<string>();
  for (const name of [...opts.tasks].reverse()) {
    const node = opts.graph.get(name);
    const clean = node.def.clean;
    if (clean === undefined || clean === false) continue;
    if (Array.isArray(clean)) {
      const actions = clean as readonly Action[];
      // Nothing to say for a task whose targets are all absent (never built, cleaned already).
      const built = node.targets.length === 0 || node.targets.some((t) => existsNoFollow(t));
      if (!opts.dryRun) {
        await runActions(actions, {
          task: name,
          root: opts.graph.root,
          signal: opts.signal,
          reporter: opts.reporter,
          verbose: false,
        });
      }
      // The directories the actions left empty around the targets they removed go too.
      const removed = opts.dryRun
        ? []
        : pruneEmptyParents(
            node.targets.filter((t) => !existsNoFollow(t)),
            gone,
            cleaning,
            opts,
          );
      opts.reporter.emit({
        event: 'clean',
        task: name,
        removed,
        refused: [],
        dryRun: opts.dryRun,
        ...(built ? { actions: actions.map(describeAction) } : {}),
      });
      cleaned.push(name);
      continue;
    }
    const removed: string[] = [];
    const refused: string[] = [];
    for (const t of node.targets) {
      if (!existsNoFollow(t)) continue;
      if (
        !isRemovable(t, opts.buildRoot, opts.stateDir) ||
        (!opts.dryRun && !removeTarget(t, opts.buildRoot))
      ) {
        refused.push(t);
        continue;
      }
      removed.push(t);
      gone.add(t);
    }
    removed.push(...pruneEmptyParents(removed, gone, cleaning, opts));
    opts.reporter.emit({ event: 'clean', task: name, removed, refused, dryRun: opts.dryRun });
    cleaned.push(name);
  }
  return cleaned;
}
