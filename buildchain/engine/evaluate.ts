/**
 * Computes a task's current fingerprint parts and target hashes, runs its uptodate checks and
 * returns why it must run (see uptodate.ts). Reads files; never runs actions.
 */
import { codeFingerprintsFor, type CodeFingerprints } from './code-fingerprint.ts';
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

const NO_ACTIONS: readonly Action[] = Object.freeze([]);

function cleanActions(node: GraphNode): readonly Action[] {
  return Array.isArray(node.def.clean) ? (node.def.clean as readonly Action[]) : NO_ACTIONS;
}

/** JSON text of a string (labels repeat across tasks: memoised). */
const quotedLabels = new Map<string, string>();
function quotedLabel(label: string): string {
  let q = quotedLabels.get(label);
  if (q === undefined) {
    q = JSON.stringify(label);
    if (quotedLabels.size < 10_000) quotedLabels.set(label, q);
  }
  return q;
}

/** `JSON.stringify(actionIdentity(a, codeHash))`, without the intermediate object. */
function actionJson(a: Action, codeHash: CodeHashOf): string {
  if (a.kind === 'command') return JSON.stringify(actionIdentity(a, codeHash));
  const label = quotedLabel(a.label);
  return a.module === undefined
    ? `{"fn":${label}}`
    : `{"fn":${label},"code":${JSON.stringify(codeHash(a.module) ?? '')}}`;
}

function actionsJson(actions: readonly Action[], codeHash: CodeHashOf): string {
  let out = '';
  for (let i = 0; i < actions.length; i++)
    out += (i === 0 ? '' : ',') + actionJson(actions[i] as Action, codeHash);
  return `[${out}]`;
}

/**
 * JSON of everything in the definition that decides what the actions do:
 * `JSON.stringify({ a: actions, t: targets, c: clean })` with each action as
 * {@link actionIdentity}, written out directly (one string per task on the no-op path, no
 * intermediate objects).
 */
export function definitionJson(node: GraphNode, codeHash: CodeHashOf = () => undefined): string {
  const def = node.def;
  const clean = Array.isArray(def.clean)
    ? actionsJson(cleanActions(node), codeHash)
    : def.clean === undefined
      ? 'false'
      : JSON.stringify(def.clean);
  return `{"a":${actionsJson(def.actions ?? NO_ACTIONS, codeHash)},"t":${JSON.stringify(node.targets)},"c":${clean}}`;
}

/** Modules defining the node's function actions (run and clean). */
function codeModules(node: GraphNode): string[] {
  const out: string[] = [];
  const add = (actions: readonly Action[]): void => {
    for (const a of actions)
      if (a.kind === 'function' && a.module !== undefined && !out.includes(a.module))
        out.push(a.module);
  };
  add(node.def.actions ?? []);
  add(cleanActions(node));
  return out;
}

/** True when the code hash of every function action's module is known without reading a file. */
function codeKnown(actions: readonly Action[] | undefined, code: CodeFingerprints): boolean {
  if (actions === undefined) return true;
  for (const a of actions)
    if (a.kind === 'function' && a.module !== undefined && code.peek(a.module) === undefined)
      return false;
  return true;
}

/** The parts other than the actions and files. */
interface OtherParts {
  readonly config: string;
  readonly env: Readonly<Record<string, string>>;
  readonly tools: Readonly<Record<string, string>>;
  readonly deps: Readonly<Record<string, string>>;
}

/** Shared by the parts of every task without env keys, tools or fingerprint deps (never written to). */
const NONE: Readonly<Record<string, string>> = Object.freeze({});

const NO_PARTS: FingerprintParts = Object.freeze({
  actions: '',
  config: '',
  env: NONE,
  tools: NONE,
  files: NONE,
  deps: NONE,
});

/**
 * An empty record keyed by paths: a dictionary from the start (an object literal given one new
 * path key per task would grow V8's shape transitions by one per task).
 */
export function pathRecord(): Record<string, string> {
  return Object.create(null) as Record<string, string>;
}

/** Hash of file deps; a missing file hashes as '' (the caller reports missing-file-dep). */
export async function fileHashes(
  hasher: FileHasher,
  files: readonly string[],
): Promise<Record<string, string>> {
  const out = pathRecord();
  for (const f of files) {
    const now = hasher.hashSync(f);
    out[f] = (now === NEEDS_HASHING ? await hasher.hash(f) : now) ?? '';
  }
  return out;
}

export interface EvaluateExtra {
  readonly toolVersions: Readonly<Record<string, string>>;
  readonly alwaysMake: boolean;
  readonly depsWouldRun?: readonly string[];
}

/** The other parts of a task without env keys, tools, fingerprint deps or config (never written to). */
const NO_OTHER_PARTS: OtherParts = Object.freeze({
  config: '',
  env: NONE,
  tools: NONE,
  deps: NONE,
});

function isEmpty(r: Readonly<Record<string, string>>): boolean {
  for (const _ in r) return false;
  return true;
}

/** Fingerprint parts known without reading files: everything but `actions` and `files`. */
function partsWithout(
  node: GraphNode,
  ctx: EvaluateContext,
  toolVersions: Readonly<Record<string, string>>,
): OtherParts {
  const def = node.def;
  // The common task (no env key, tool, fingerprint dep or config value): one shared object.
  if (
    (def.envKeys === undefined || def.envKeys.length === 0) &&
    node.fingerprintDeps.length === 0 &&
    def.config === undefined &&
    isEmpty(toolVersions)
  )
    return NO_OTHER_PARTS;
  let env = NONE;
  if (def.envKeys !== undefined && def.envKeys.length > 0) {
    const e: Record<string, string> = {};
    for (const k of def.envKeys) e[k] = hashString(ctx.envValues[k] ?? '');
    env = e;
  }
  let tools = NONE;
  for (const k in toolVersions) {
    if (tools === NONE) tools = {};
    (tools as Record<string, string>)[k] = hashString(toolVersions[k] as string);
  }
  let deps = NONE;
  if (node.fingerprintDeps.length > 0) {
    const d: Record<string, string> = {};
    for (const n of node.fingerprintDeps)
      d[n] = ctx.fingerprints.get(n) ?? ctx.state.fingerprintOf(n) ?? '';
    deps = d;
  }
  return {
    config: def.config === undefined ? '' : hashString(JSON.stringify(def.config)),
    env,
    tools,
    deps,
  };
}

function recordJson(r: Readonly<Record<string, string>>): string {
  return r === NONE ? '{}' : JSON.stringify(r);
}

/**
 * The task's fingerprint: one hash of the definition JSON and of
 * `JSON.stringify([config, env, tools, files, deps])` (`filesJson` being the JSON of the file
 * dep → hash record), the other parts written out without building the array.
 */
function fingerprintOf(defJson: string, base: OtherParts, filesJson: string): string {
  return hashString(
    `${defJson}\n[${JSON.stringify(base.config)},${recordJson(base.env)},${recordJson(base.tools)},${filesJson},${recordJson(base.deps)}]`,
  );
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
  // One hash per task: the definition JSON and the other parts together. The per-part hashes
  // (to say what changed) are only computed for a stale task. Code hashes were computed by the
  // caller (peek then answers from the run's memo).
  const code = codeFingerprintsFor(ctx.hasher);
  const defJson = definitionJson(node, code.peekHash);
  const filesJson = JSON.stringify(files);
  const fp = fingerprintOf(defJson, base, filesJson);
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
  // JSON.stringify(fullParts()), written out (the file record's JSON is the fingerprint's).
  const partsJson = (): string =>
    `{"actions":"${parts?.actions ?? hashString(defJson)}","config":${JSON.stringify(base.config)},` +
    `"env":${recordJson(base.env)},"tools":${recordJson(base.tools)},"files":${filesJson},"deps":${recordJson(base.deps)}}`;
  return { fp, files, partsJson, targets, reasons };
}

export async function evaluateTask(
  node: GraphNode,
  ctx: EvaluateContext,
  extra: EvaluateExtra,
): Promise<Evaluation> {
  // Awaits only what must be read asynchronously (a large file, a function check): a cold
  // build of many small files makes no promise per file.
  const base = partsWithout(node, ctx, extra.toolVersions);
  const hasher = ctx.hasher;
  const files = pathRecord();
  for (const f of node.fileDeps) {
    const now = hasher.hashSync(f);
    files[f] = (now === NEEDS_HASHING ? await hasher.hash(f) : now) ?? '';
  }
  const targets: (readonly [string, string | undefined])[] = [];
  for (const t of node.targets) {
    const now = hasher.hashSync(t);
    targets.push([t, now === NEEDS_HASHING ? await hasher.hash(t) : now]);
  }
  const checks: (boolean | string)[] = [];
  for (const c of node.def.uptodate ?? []) checks.push(typeof c === 'function' ? await c() : c);
  const code = codeFingerprintsFor(hasher);
  for (const m of codeModules(node)) if (code.peek(m) === undefined) await code.hash(m);
  const changes =
    node.def.targetCheck === undefined ? undefined : await targetCheckChanges(node, ctx);
  return conclude(node, ctx, extra, base, files, targets, checks, changes);
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
 * The fingerprint of a task found up to date (or of a group) without any await, from this
 * run's lookups and the stat cache: the no-op path of a large build, with no object, array or
 * closure per task. Undefined when the task needs {@link evaluateTask}: a file to read, a
 * missing file dep, a function uptodate check, a target check, or any reason to run (the full
 * evaluation then says which).
 */
export function upToDateSync(
  node: GraphNode,
  ctx: EvaluateContext,
  toolVersions: Readonly<Record<string, string>>,
): string | undefined {
  const def = node.def;
  if (def.targetCheck !== undefined) return undefined;
  let checksPass = true;
  const uptodate = def.uptodate;
  if (uptodate !== undefined) {
    for (const c of uptodate) {
      if (typeof c === 'function') return undefined;
      if (!c) checksPass = false;
    }
  }
  const hasher = ctx.hasher;
  // The JSON of the file dep → hash record, as JSON.stringify writes it (the graph holds each
  // file dep once; hashes are base64url, which needs no escaping).
  let filesJson = '{';
  const fileDeps = node.fileDeps;
  for (let i = 0; i < fileDeps.length; i++) {
    const f = fileDeps[i] as string;
    const h = hasher.peek(f);
    if (h === NEEDS_HASHING || h === undefined) return undefined;
    filesJson += `${i === 0 ? '' : ','}${JSON.stringify(f)}:"${h}"`;
  }
  filesJson += '}';
  const state = ctx.state;
  const name = node.name;
  // The stored fingerprint and target hashes, read without building the stored state.
  const previousFp = node.isGroup ? undefined : state.fingerprintOf(name);
  // Every target present and as recorded (the common no-op), else the full rules below decide.
  let targetsAsRecorded = previousFp !== undefined;
  for (const t of node.targets) {
    const h = hasher.peek(t);
    if (h === NEEDS_HASHING) return undefined;
    if (h === undefined || (targetsAsRecorded && state.targetHash(name, t) !== h))
      targetsAsRecorded = false;
  }
  const code = codeFingerprintsFor(hasher);
  if (!codeKnown(def.actions, code) || !codeKnown(cleanActions(node), code)) return undefined;
  const fp = fingerprintOf(
    definitionJson(node, code.peekHash),
    partsWithout(node, ctx, toolVersions),
    filesJson,
  );
  if (node.isGroup) return fp;
  // What staleReasons finds empty in the common case: file deps, stored state with this
  // fingerprint, the targets as recorded and every uptodate check true.
  if (targetsAsRecorded && checksPass && fileDeps.length > 0 && previousFp === fp) return fp;
  if (previousFp !== undefined && previousFp !== fp) return undefined;
  const previous = previousFp === undefined ? undefined : state.get(name);
  // The other rules (a task without file deps, or without stored state, may be up to date).
  const targets: (readonly [string, string | undefined])[] = node.targets.map((t) => {
    const h = hasher.peek(t);
    return [t, typeof h === 'string' ? h : undefined];
  });
  const reasons = staleReasons({
    root: ctx.root,
    previous,
    // Only read when the fingerprint differs, which returned above; were it read, its reasons
    // would only send the task to the full evaluation.
    parts: NO_PARTS,
    fp,
    targets,
    hasFileDeps: fileDeps.length > 0,
    needsState: def.config !== undefined && node.targets.length > 0,
    checks: (def.uptodate ?? []) as readonly (boolean | string)[],
    alwaysMake: false,
  });
  return reasons.length === 0 ? fp : undefined;
}
