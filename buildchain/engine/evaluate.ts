/**
 * Computes a task's current fingerprint parts and target hashes, runs its uptodate checks and
 * returns why it must run (see uptodate.ts). Reads files; never runs actions.
 */
import { codeFingerprintsFor } from './code-fingerprint.ts';
import type { FileHasher } from './fingerprint.ts';
import { hashString, NEEDS_HASHING } from './fingerprint.ts';
import type { GraphNode } from './graph.ts';
import type { FingerprintParts, StateStore } from './state-store.ts';
import type { Action } from './task.ts';
import { staleReasons } from './uptodate.ts';

export interface EvaluateContext {
  readonly root: string;
  readonly hasher: FileHasher;
  readonly state: StateStore;
  /** Values of env keys declared by tasks (config values first, then the process env). */
  readonly envValues: Readonly<Record<string, string | undefined>>;
  /** Fingerprints computed so far in this run, by task name. */
  readonly fingerprints: ReadonlyMap<string, string>;
}

export interface Evaluation {
  readonly fp: string;
  /** File dep → content hash ('' when missing). */
  readonly files: Readonly<Record<string, string>>;
  /** The fingerprint parts as JSON, to store after a successful run (built on demand). */
  readonly partsJson: () => string;
  readonly targets: readonly (readonly [string, string | undefined])[];
  readonly reasons: string[];
}

/** Code hash of a function action's module (see code-fingerprint.ts). */
export type CodeHashOf = (module: string) => string | undefined;

/** The JSON an action contributes to the fingerprint: its definition, and its code's hash. */
export function actionIdentity(a: Action, codeHash: CodeHashOf = () => undefined): unknown {
  if (a.kind === 'command')
    return { argv: a.argv, env: a.env ?? null, cwd: a.cwd ?? null, input: a.input ?? null };
  return a.module === undefined ? { fn: a.label } : { fn: a.label, code: codeHash(a.module) ?? '' };
}

function cleanActions(node: GraphNode): readonly Action[] {
  return Array.isArray(node.def.clean) ? (node.def.clean as readonly Action[]) : [];
}

/** JSON of everything in the definition that decides what the actions do. */
export function definitionJson(node: GraphNode, codeHash?: CodeHashOf): string {
  const def = node.def;
  const id = (a: Action): unknown => actionIdentity(a, codeHash);
  const clean = Array.isArray(def.clean) ? cleanActions(node).map(id) : (def.clean ?? false);
  return JSON.stringify({ a: (def.actions ?? []).map(id), t: node.targets, c: clean });
}

/** Modules defining the node's function actions (run and clean). */
function codeModules(node: GraphNode): string[] {
  const out: string[] = [];
  for (const a of [...(node.def.actions ?? []), ...cleanActions(node)]) {
    if (a.kind === 'function' && a.module !== undefined && !out.includes(a.module))
      out.push(a.module);
  }
  return out;
}

/** The parts other than the actions and files. */
interface OtherParts {
  readonly config: string;
  readonly env: Record<string, string>;
  readonly tools: Record<string, string>;
  readonly deps: Record<string, string>;
}

/** Hash of file deps; a missing file hashes as '' (the caller reports missing-file-dep). */
export async function fileHashes(
  hasher: FileHasher,
  files: readonly string[],
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of files) {
    const now = hasher.hashSync(f);
    out[f] = (now === NEEDS_HASHING ? await hasher.hash(f) : now) ?? '';
  }
  return out;
}

export interface EvaluateExtra {
  readonly toolVersions: Record<string, string>;
  readonly alwaysMake: boolean;
  readonly depsWouldRun?: readonly string[];
}

/** Fingerprint parts known without reading files: everything but `actions` and `files`. */
function partsWithout(node: GraphNode, ctx: EvaluateContext, extra: EvaluateExtra): OtherParts {
  const def = node.def;
  const env: Record<string, string> = {};
  for (const k of def.envKeys ?? []) env[k] = hashString(ctx.envValues[k] ?? '');
  const tools: Record<string, string> = {};
  for (const [k, v] of Object.entries(extra.toolVersions)) tools[k] = hashString(v);
  const deps: Record<string, string> = {};
  for (const d of node.fingerprintDeps)
    deps[d] = ctx.fingerprints.get(d) ?? ctx.state.get(d)?.fp ?? '';
  return {
    config: def.config === undefined ? '' : hashString(JSON.stringify(def.config)),
    env,
    tools,
    deps,
  };
}

function conclude(
  node: GraphNode,
  ctx: EvaluateContext,
  extra: EvaluateExtra,
  base: OtherParts,
  files: Record<string, string>,
  targets: (readonly [string, string | undefined])[],
  checks: (boolean | string)[],
  targetChanges?: readonly string[],
): Evaluation {
  // One hash per task on the no-op path: the definition JSON and the other parts together.
  // The per-part hashes (to say what changed) are only computed for a stale task. Code hashes
  // were computed by the caller (peek then answers from the run's memo).
  const code = codeFingerprintsFor(ctx.hasher);
  const defJson = definitionJson(node, (m) => code.peek(m));
  const fp = hashString(
    `${defJson}\n${JSON.stringify([base.config, base.env, base.tools, files, base.deps])}`,
  );
  let parts: FingerprintParts | undefined;
  const fullParts = (): FingerprintParts =>
    (parts ??= {
      actions: hashString(defJson),
      config: base.config,
      env: base.env,
      tools: base.tools,
      files,
      deps: base.deps,
    });
  const reasons = staleReasons({
    root: ctx.root,
    previous: ctx.state.get(node.name),
    parts: fullParts,
    fp,
    targets,
    hasFileDeps: node.fileDeps.length > 0,
    // A config value is only known from the stored state: a task that has targets and a config
    // value reruns without state (its targets may come from another config). A task with no
    // targets keeps doit's rule: its uptodate checks alone decide (e.g. a prune that finds
    // nothing to remove).
    needsState:
      node.def.targetCheck !== undefined ||
      (node.def.config !== undefined && node.targets.length > 0),
    targetChanges,
    checks,
    alwaysMake: extra.alwaysMake,
    depsWouldRun: extra.depsWouldRun,
  });
  return { fp, files, partsJson: () => JSON.stringify(fullParts()), targets, reasons };
}

export async function evaluateTask(
  node: GraphNode,
  ctx: EvaluateContext,
  extra: EvaluateExtra,
): Promise<Evaluation> {
  const base = partsWithout(node, ctx, extra);
  const files = await fileHashes(ctx.hasher, node.fileDeps);
  const targets: (readonly [string, string | undefined])[] = [];
  for (const t of node.targets) {
    const now = ctx.hasher.hashSync(t);
    targets.push([t, now === NEEDS_HASHING ? await ctx.hasher.hash(t) : now]);
  }
  const checks: (boolean | string)[] = [];
  for (const c of node.def.uptodate ?? []) checks.push(typeof c === 'function' ? await c() : c);
  const code = codeFingerprintsFor(ctx.hasher);
  for (const m of codeModules(node)) await code.hash(m);
  return conclude(
    node,
    ctx,
    extra,
    base,
    files,
    targets,
    checks,
    await targetCheckChanges(node, ctx),
  );
}

/**
 * What the task's target check reports against the value recorded after its last run;
 * undefined without a target check. Without stored state there is nothing to compare (the
 * task runs anyway: no stored state); a state without a record asks for a run.
 */
async function targetCheckChanges(
  node: GraphNode,
  ctx: EvaluateContext,
): Promise<readonly string[] | undefined> {
  const check = node.def.targetCheck;
  if (check === undefined) return undefined;
  const previous = ctx.state.get(node.name);
  if (previous === undefined || check.changes === undefined) return [];
  if (previous.observed === undefined) return ['no record of the last run'];
  return check.changes(previous.observed, await check.observe());
}

/**
 * The same evaluation without any await, when everything is known from this run's lookups
 * and the stat cache (the no-op path of a large build); undefined when a file must be read,
 * a file dep is missing or an uptodate check is a function.
 */
export function evaluateTaskSync(
  node: GraphNode,
  ctx: EvaluateContext,
  extra: EvaluateExtra,
): Evaluation | undefined {
  const files: Record<string, string> = {};
  for (const f of node.fileDeps) {
    const h = ctx.hasher.peek(f);
    if (h === NEEDS_HASHING || h === undefined) return undefined;
    files[f] = h;
  }
  const targets: (readonly [string, string | undefined])[] = [];
  for (const t of node.targets) {
    const h = ctx.hasher.peek(t);
    if (h === NEEDS_HASHING) return undefined;
    targets.push([t, h]);
  }
  if (node.def.targetCheck !== undefined) return undefined;
  const checks: (boolean | string)[] = [];
  for (const c of node.def.uptodate ?? []) {
    if (typeof c === 'function') return undefined;
    checks.push(c);
  }
  const code = codeFingerprintsFor(ctx.hasher);
  for (const m of codeModules(node)) if (code.peek(m) === undefined) return undefined;
  return conclude(node, ctx, extra, partsWithout(node, ctx, extra), files, targets, checks);
}
