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

/** Targets of `tasks` under `isoRoot` (absolute, or relative to `root`). */
export function expectedTree(
  tasks: readonly TaskDefinition[],
  isoRoot: string,
  root: string,
): ExpectedTree {
  const targets = new Set<string>();
  const ancestors = new Set<string>();
  for (const task of tasks) {
    for (const t of task.targets ?? []) {
      const rel = path.relative(isoRoot, path.resolve(root, t));
      if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) continue;
      const posix = rel.split(path.sep).join('/');
      targets.add(posix);
      for (let d = path.posix.dirname(posix); d !== '.'; d = path.posix.dirname(d))
        ancestors.add(d);
    }
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
