/**
 * `clean`: removes the targets of tasks (only paths strictly under BUILD_ROOT, never the
 * engine's own state directory) or runs their clean actions; dependents first.
 */
import { rmSync, existsSync } from 'node:fs';
import path from 'node:path';
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

/** True when `p` is strictly inside `dir`. */
export function isInside(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** Cleans the tasks; returns the names whose targets were (or would be) removed. */
export async function cleanTasks(opts: CleanOptions): Promise<string[]> {
  const cleaned: string[] = [];
  for (const name of [...opts.tasks].reverse()) {
    const node = opts.graph.get(name);
    const clean = node.def.clean;
    if (clean === undefined || clean === false) continue;
    if (Array.isArray(clean)) {
      if (!opts.dryRun) {
        await runActions(clean as readonly Action[], {
          task: name,
          root: opts.graph.root,
          signal: opts.signal,
          reporter: opts.reporter,
          verbose: false,
        });
      }
      opts.reporter.emit({ event: 'clean', task: name, removed: [], refused: [], dryRun: opts.dryRun });
      cleaned.push(name);
      continue;
    }
    const removed: string[] = [];
    const refused: string[] = [];
    for (const t of node.targets) {
      if (!existsSync(t)) continue;
      const safe = isInside(opts.buildRoot, t) && !isInside(opts.stateDir, t) && t !== opts.stateDir
        && !isInside(t, opts.stateDir);
      if (!safe) {
        refused.push(t);
        continue;
      }
      if (!opts.dryRun) rmSync(t, { recursive: true, force: true });
      removed.push(t);
    }
    opts.reporter.emit({ event: 'clean', task: name, removed, refused, dryRun: opts.dryRun });
    cleaned.push(name);
  }
  return cleaned;
}
