/**
 * The ISO root is exactly what the task graph produced: the expected set is the union of the
 * declared targets under the ISO root (a directory target covers its whole tree). Anything
 * else found there (a leftover of an earlier build, a file dropped by hand) is a stray.
 */
import path from 'node:path';
import type { TaskDefinition } from '../../engine/task.ts';

/** Expected content of the ISO root, as paths relative to it (POSIX separators). */
export interface ExpectedTree {
  /** Declared targets. */
  readonly targets: ReadonlySet<string>;
  /** Ancestors of targets: directories that must exist but may hold only expected entries. */
  readonly ancestors: ReadonlySet<string>;
}

/**
 * Targets of `tasks` under `isoRoot` (absolute, or relative to `root`).
 *
 * Owned directories: a task that declares one file of a layout directory (e.g. only
 * `images/<name>/<tag>/manifest.json`) owns that directory when it is at least two levels
 * deep and holds no other task's target; its whole content is then expected. Top-level
 * directories (`examples/`, `salt/`, ...) are never owned: a file dropped there is a stray.
 */
export function expectedTree(
  tasks: readonly TaskDefinition[],
  isoRoot: string,
  root: string,
): ExpectedTree {
  const targets = new Set<string>();
  const ancestors = new Set<string>();
  const owners = new Map<string, Set<string>>();
  const declared: [string, string][] = [];
  for (const task of tasks) {
    for (const t of task.targets ?? []) {
      const rel = path.relative(isoRoot, path.resolve(root, t));
      if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) continue;
      const posix = rel.split(path.sep).join('/');
      targets.add(posix);
      declared.push([task.name, posix]);
      for (let d = path.posix.dirname(posix); d !== '.'; d = path.posix.dirname(d)) {
        ancestors.add(d);
        const set = owners.get(d) ?? new Set<string>();
        set.add(task.name);
        owners.set(d, set);
      }
    }
  }
  for (const [task, t] of declared) {
    const dir = path.posix.dirname(t);
    const own = owners.get(dir);
    if (dir.includes('/') && own?.size === 1 && own.has(task)) targets.add(dir);
  }
  return { targets, ancestors };
}

/** True when `rel` is a target or lies under a directory target. */
export function isCovered(rel: string, expected: ExpectedTree): boolean {
  for (let p = rel; p !== '.'; p = path.posix.dirname(p)) {
    if (expected.targets.has(p)) return true;
  }
  return false;
}

/**
 * Entries of the ISO root that no task produced. `entries` are relative paths (files and
 * directories); a stray directory is reported once, not its content.
 */
export function findStrays(entries: readonly string[], expected: ExpectedTree): string[] {
  const strays: string[] = [];
  for (const e of [...entries].sort()) {
    if (strays.some((s) => e.startsWith(`${s}/`))) continue;
    if (isCovered(e, expected) || expected.ancestors.has(e)) continue;
    strays.push(e);
  }
  return strays;
}
