/**
 * Why a task must run: pure comparison of the stored state with the current fingerprint
 * parts, targets and uptodate checks. An empty list means "up to date". `info` and the dry
 * run print these strings; the `start` event carries them.
 */
import path from 'node:path';
import type { FingerprintParts, TaskState } from './state-store.ts';

export interface UptodateInput {
  readonly root: string;
  readonly previous: TaskState | undefined;
  /** Current parts (a function: only built when the fingerprint differs). */
  readonly parts: FingerprintParts | (() => FingerprintParts);
  readonly fp: string;
  /** Current hash of each target; undefined when missing. */
  readonly targets: readonly (readonly [string, string | undefined])[];
  readonly hasFileDeps: boolean;
  /**
   * The task has a config value or a target check: without stored state its targets alone
   * do not make it up to date (doit's targets-only rule does not apply).
   */
  readonly needsState?: boolean;
  /** Changes its target check found since the last run; undefined without a target check. */
  readonly targetChanges?: readonly string[];
  /** Results of the task's uptodate checks: true (ok), false (always run) or a reason. */
  readonly checks: readonly (boolean | string)[];
  readonly alwaysMake: boolean;
  /** File-producing dependencies that would run (dry run only). */
  readonly depsWouldRun?: readonly string[];
}

const MAX_REASONS = 20;

function rel(root: string, p: string): string {
  // The graph's paths are normalized: one under the root is the rest of it.
  const r =
    p.startsWith(root) && p.charCodeAt(root.length) === 0x2f && !root.endsWith('/')
      ? p.slice(root.length + 1)
      : path.relative(root, p);
  return r.startsWith('..') ? p : r;
}

function diffRecord(
  label: string,
  before: Readonly<Record<string, string>>,
  after: Readonly<Record<string, string>>,
  show: (k: string) => string,
): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(after)) {
    const old = before[k];
    if (old === undefined) out.push(`${label} added: ${show(k)}`);
    else if (old !== v) out.push(`${label} changed: ${show(k)}`);
  }
  for (const k of Object.keys(before)) if (!(k in after)) out.push(`${label} removed: ${show(k)}`);
  return out;
}

/** Reasons the fingerprint differs from the stored one. */
export function fingerprintReasons(
  root: string,
  prev: FingerprintParts,
  cur: FingerprintParts,
): string[] {
  const out: string[] = [];
  if (prev.actions !== cur.actions) out.push('actions changed');
  if (prev.config !== cur.config) out.push('config changed');
  const show = (k: string): string => rel(root, k);
  out.push(...diffRecord('env', prev.env, cur.env, (k) => k));
  out.push(...diffRecord('tool', prev.tools, cur.tools, (k) => k));
  out.push(...diffRecord('file', prev.files, cur.files, show));
  out.push(...diffRecord('dependency', prev.deps, cur.deps, (k) => k));
  return out;
}

function parseParts(json: string): FingerprintParts {
  try {
    return JSON.parse(json) as FingerprintParts;
  } catch {
    return { actions: '', config: '', env: {}, tools: {}, files: {}, deps: {} };
  }
}

/** The reasons a task must run, most important first; empty when up to date. */
export function staleReasons(input: UptodateInput): string[] {
  const { root, previous } = input;
  if (input.alwaysMake) return ['forced (--always-make)'];
  const out: string[] = [];
  for (const [t, h] of input.targets)
    if (h === undefined) out.push(`target missing: ${rel(root, t)}`);
  for (const c of input.checks) {
    if (c === false) out.push('uptodate check: always run');
    else if (typeof c === 'string') out.push(`uptodate check: ${c}`);
  }
  for (const c of input.targetChanges ?? []) out.push(`target check: ${c}`);
  for (const d of input.depsWouldRun ?? []) out.push(`dependency would run: ${d}`);
  if (!input.hasFileDeps && input.checks.length === 0 && input.targetChanges === undefined) {
    out.push('always runs (no file deps and no uptodate check)');
    return cap(out);
  }
  if (previous === undefined) {
    // doit: `uptodate: [true]` without file deps only needs the targets.
    if (!input.hasFileDeps && input.needsState !== true && out.length === 0) return [];
    out.push('no stored state (never ran, forgotten or interrupted)');
    return cap(out);
  }
  if (previous.fp !== input.fp) {
    const cur = typeof input.parts === 'function' ? input.parts() : input.parts;
    const why = fingerprintReasons(root, parseParts(previous.parts), cur);
    out.push(...(why.length > 0 ? why : ['fingerprint changed']));
  }
  for (const [t, h] of input.targets) {
    if (h === undefined) continue;
    const old = previous.targets[t];
    if (old === undefined) out.push(`target not recorded: ${rel(root, t)}`);
    else if (old !== h) out.push(`target changed: ${rel(root, t)}`);
  }
  return cap(out);
}

function cap(reasons: string[]): string[] {
  if (reasons.length <= MAX_REASONS) return reasons;
  return [...reasons.slice(0, MAX_REASONS), `... and ${reasons.length - MAX_REASONS} more`];
}
