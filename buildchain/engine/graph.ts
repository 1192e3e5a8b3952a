/**
 * The task graph: validated definitions, absolute paths, explicit and implicit dependencies
 * (a file dep that is another task's target, or lies under a directory target), cycle
 * detection and selection of the tasks to run (names, `/` separators, fnmatch wildcards,
 * group prefixes), with closest-name suggestions for unknown names.
 */
import path from 'node:path';
import { UsageError } from './failures.ts';
import { AliasTable, type RetiredName, type TaskAlias } from './aliases.ts';
import { closestNames } from './suggest.ts';
import type { TaskDefinition } from './task.ts';
import { isWildcard, normalizeTaskName, wildcardToRegExp } from './wildcard.ts';

/** A task with resolved paths and dependencies. */
export interface GraphNode {
  readonly name: string;
  readonly def: TaskDefinition;
  /** Absolute file dependencies, in definition order. */
  fileDeps: string[];
  readonly targets: readonly string[];
  /** Every task that must finish first: explicit, implicit (file deps) and dynamic `after`. */
  deps: string[];
  /**
   * Explicit deps (taskDeps, and computed taskDeps) that produce files or are groups: their fingerprints join
   * this task's fingerprint. Deps found through file deps are not in it: the content of the
   * files covers them (so an unchanged output does not rerun its readers).
   */
  fingerprintDeps: string[];
  readonly isPrivate: boolean;
  readonly isGroup: boolean;
}

export type { RetiredName, TaskAlias } from './aliases.ts';

/**
 * The deps of the many tasks without any (shared, never written to: a change replaces the
 * array): a graph of 10 000 leaf tasks keeps no empty array per task.
 */
const NO_NAMES = Object.freeze([]) as unknown as string[];

const NAME_RE = /^[A-Za-z0-9_.@+-]+(:[A-Za-z0-9_.@+=,-]+)*$/;

/** True for names whose first or last segment starts with `_`. */
export function isPrivateName(name: string): boolean {
  return name.startsWith('_') || name.charCodeAt(name.lastIndexOf(':') + 1) === 0x5f;
}

/** A wildcard's test, or a group prefix's (`images` matches `images:*`). */
function nameMatcher(pattern: string): (name: string) => boolean {
  if (isWildcard(pattern)) {
    const re = wildcardToRegExp(pattern);
    return (n) => re.test(n);
  }
  const prefix = `${pattern}:`;
  return (n) => n.startsWith(prefix);
}

export class TaskGraph {
  readonly root: string;
  readonly nodes = new Map<string, GraphNode>();
  /** Absolute target path → producing task. */
  readonly targetOwner = new Map<string, string>();
  private readonly aliasTable = new AliasTable((n) => NAME_RE.test(n));
  /** Resolved spellings: without aliases (task definitions), with them (the command line). */
  private readonly patternCache = new Map<string, string[]>();
  private readonly aliasPatternCache = new Map<string, string[]>();
  private hasOutsideTargets = false;
  /** The lengths of the targets: a file's ancestor of another length is none of them. */
  private readonly targetLengths = new Set<number>();
  /** `root` + '/'. */
  private readonly rootSlash: string;

  constructor(root: string, definitions: readonly TaskDefinition[]) {
    this.root = root;
    this.rootSlash = `${root}/`;
    for (const def of definitions) this.addNode(def);
    for (const node of this.nodes.values()) this.linkNode(node);
    this.checkCycles([...this.nodes.keys()]);
  }

  private addNode(def: TaskDefinition): void {
    if (!NAME_RE.test(def.name)) {
      throw new UsageError(
        'invalid-task',
        `invalid task name ${JSON.stringify(def.name)}`,
        'names are segments of letters, digits, _ . @ + - separated by ":"',
      );
    }
    if (this.nodes.has(def.name)) {
      throw new UsageError('duplicate-task', `task ${def.name} is defined twice`);
    }
    const given = def.targets ?? NO_NAMES;
    const targets: string[] = [];
    for (let i = 0; i < given.length; i++) {
      const t = this.abs(given[i] as string);
      const other = this.targetOwner.get(t);
      if (other !== undefined) {
        throw new UsageError('invalid-task', `${t} is a target of both ${other} and ${def.name}`);
      }
      this.targetOwner.set(t, def.name);
      this.targetLengths.add(t.length);
      if (!t.startsWith(this.rootSlash)) this.hasOutsideTargets = true;
      targets.push(t);
    }
    const files = def.fileDeps ?? NO_NAMES;
    let fileDeps: string[] = [];
    for (let i = 0; i < files.length; i++) fileDeps.push(this.abs(files[i] as string));
    // Each file once (the fingerprint's file record has one entry per file).
    if (fileDeps.length > 1) {
      const unique = new Set(fileDeps);
      if (unique.size < fileDeps.length) fileDeps = [...unique];
    }
    this.nodes.set(def.name, {
      name: def.name,
      def,
      fileDeps,
      targets,
      deps: NO_NAMES,
      fingerprintDeps: NO_NAMES,
      isPrivate: isPrivateName(def.name),
      isGroup: (def.actions ?? []).length === 0,
    });
  }

  /** Adds aliases (see {@link AliasTable.add}): computed only when first needed. */
  addAliases(provide: () => readonly TaskAlias[]): void {
    this.aliasTable.add(provide);
    this.aliasPatternCache.clear();
  }

  /** Alias name → alias (computed on first use). */
  get aliases(): ReadonlyMap<string, TaskAlias> {
    return this.aliasTable.all((n) => this.nodes.has(n));
  }

  /** Adds retired names (see {@link RetiredName}). */
  addRetired(names: readonly RetiredName[]): void {
    this.aliasTable.addRetired(names);
  }

  private linkNode(node: GraphNode): void {
    const def = node.def;
    if (def.taskDeps === undefined && def.dynamicDeps === undefined && node.fileDeps.length <= 1) {
      // The common leaf task (one input, no explicit deps): no Set to build.
      const file = node.fileDeps[0];
      const owner = file === undefined ? undefined : this.producerOf(file, node.name);
      node.deps = owner === undefined ? NO_NAMES : [owner];
      return;
    }
    const deps = new Set<string>();
    for (const p of node.def.taskDeps ?? []) {
      for (const d of this.resolveDep(p, `task dependency of ${node.name}`)) deps.add(d);
    }
    deps.delete(node.name);
    const fingerprintDeps = [...deps].filter((d) => this.isFingerprintDep(d));
    node.fingerprintDeps = fingerprintDeps.length === 0 ? NO_NAMES : fingerprintDeps;
    // `after` only orders: the file deps computed afterwards cover what those tasks produced.
    for (const p of node.def.dynamicDeps?.after ?? []) {
      for (const d of this.resolveDep(p, `dynamicDeps.after of ${node.name}`))
        if (d !== node.name) deps.add(d);
    }
    for (const d of this.producersOf(node.fileDeps, node.name)) deps.add(d);
    node.deps = [...deps];
  }

  private isFingerprintDep(name: string): boolean {
    const n = this.nodes.get(name);
    return n !== undefined && (n.targets.length > 0 || n.isGroup);
  }

  /** Tasks producing the given files (as targets or under a directory target). */
  producersOf(files: readonly string[], self: string): Set<string> {
    const out = new Set<string>();
    for (const f of files) {
      const owner = this.producerOf(f, self);
      if (owner !== undefined) out.add(owner);
    }
    return out;
  }

  /** The task other than `self` producing `file` (as a target or under a directory target). */
  private producerOf(file: string, self: string): string | undefined {
    const owner = this.targetOwner.get(file);
    if (owner !== undefined && owner !== self) return owner;
    // Its ancestors, from the nearest: only those as long as some target are looked up (no
    // string cut for the others); above the project root only when some target is out there.
    const lengths = this.targetLengths;
    const stop = this.hasOutsideTargets ? 1 : this.root.length;
    for (let cut = file.lastIndexOf('/'); cut >= stop; cut = file.lastIndexOf('/', cut - 1)) {
      if (!lengths.has(cut)) continue;
      const o = this.targetOwner.get(file.slice(0, cut));
      if (o !== undefined && o !== self) return o;
    }
    return undefined;
  }

  /** Absolute path of a file dep or target (relative to the project root). */
  abs(p: string): string {
    // Fast paths for the common clean paths (path.join and path.normalize are slower): a
    // relative one joined to the root, an absolute one (the task factories' usual) as is.
    if (
      !p.includes('./') &&
      !p.includes('//') &&
      !p.endsWith('/') &&
      !p.endsWith('.') &&
      p !== ''
    ) {
      return p.startsWith('/') ? p : `${this.root}/${p}`;
    }
    return path.isAbsolute(p) ? path.normalize(p) : path.join(this.root, p);
  }

  /**
   * Task names matching a command-line spelling: an exact name, an alias, a wildcard, or a
   * group prefix (`images` selects `images:*` when no task is named `images`); wildcards and
   * prefixes also match alias names (each standing for its targets).
   */
  resolve(spelling: string, context = 'task'): string[] {
    return this.resolveWith(spelling, context, true);
  }

  /** {@link resolve} for task definitions (taskDeps, dynamic deps): task names only, no alias. */
  private resolveDep(spelling: string, context: string): string[] {
    return this.resolveWith(spelling, context, false);
  }

  private resolveWith(spelling: string, context: string, withAliases: boolean): string[] {
    const name = normalizeTaskName(spelling);
    if (this.nodes.has(name)) return [name];
    const cache = withAliases ? this.aliasPatternCache : this.patternCache;
    const cached = cache.get(name);
    if (cached !== undefined) return cached;
    const found = new Set<string>();
    const aliases: ReadonlyMap<string, TaskAlias> = withAliases ? this.aliases : new Map();
    const alias = aliases.get(name);
    const matches = nameMatcher(name);
    if (alias !== undefined) {
      for (const t of alias.targets) for (const d of this.resolveDep(t, context)) found.add(d);
    } else {
      for (const n of this.nodes.keys()) if (matches(n)) found.add(n);
      for (const [n, a] of aliases) {
        if (!matches(n)) continue;
        for (const t of a.targets) for (const d of this.resolveDep(t, context)) found.add(d);
      }
    }
    if (found.size === 0) throw this.unknown(name, spelling, context, aliases);
    const list = [...found];
    cache.set(name, list);
    return list;
  }

  private unknown(
    name: string,
    spelling: string,
    context: string,
    aliases: ReadonlyMap<string, TaskAlias>,
  ): UsageError {
    const retired = this.aliasTable.retiredWhy(name);
    if (retired !== undefined)
      return new UsageError('unknown-task', `unknown ${context}: ${spelling}`, retired);
    const close = closestNames(name, [...this.nodes.keys(), ...aliases.keys()]);
    return new UsageError(
      'unknown-task',
      `unknown ${context}: ${spelling}`,
      close.length > 0
        ? `did you mean ${close.join(', ')}?`
        : 'run `./doit.sh list --all --private` to see the tasks',
    );
  }

  /** The selected tasks and all their dependencies, dependencies first. */
  select(spellings: readonly string[]): string[] {
    const roots: string[] = [];
    for (const s of spellings) roots.push(...this.resolve(s));
    return this.closure(roots);
  }

  /** `roots` and their dependencies in topological order (deterministic). */
  closure(roots: readonly string[]): string[] {
    const order: string[] = [];
    const seen = new Set<string>();
    this.postOrder(
      roots,
      (d) => {
        if (seen.has(d)) return false;
        seen.add(d);
        return true;
      },
      (name) => order.push(name),
    );
    return order;
  }

  /** Throws `cycle` naming the loop when the dependencies of `names` are not a DAG. */
  checkCycles(roots: readonly string[]): void {
    // 1: on the current path, 2: done (no cycle through it).
    const state = new Map<string, 1 | 2>();
    this.postOrder(
      roots,
      (d, path) => {
        const seen = state.get(d);
        if (seen === 1) {
          const loop = path.slice(path.indexOf(d));
          throw new UsageError(
            'cycle',
            `dependency cycle: ${[...loop, d].join(' -> ')}`,
            'remove one of these dependencies (a target that is also a file dep counts)',
          );
        }
        if (seen === 2) return false;
        state.set(d, 1);
        return true;
      },
      (name) => state.set(name, 2),
    );
  }

  /**
   * The depth-first walk of {@link closure} and {@link checkCycles}, from each of `roots` in turn
   * through the tasks' deps in order: `enter(task, path)` for each task reached (`path`, the tasks
   * from the root down to the one depending on it), true to walk its deps; then `leave(task)`
   * once they all were. Iterative (deep chains must not overflow the stack), the stack as
   * parallel arrays: the task, its deps, the next dep to look at.
   */
  private postOrder(
    roots: readonly string[],
    enter: (name: string, path: readonly string[]) => boolean,
    leave: (name: string) => unknown,
  ): void {
    const names: string[] = [];
    const depsOf: (readonly string[])[] = [];
    const next: number[] = [];
    for (const r of roots) {
      if (!enter(r, names)) continue;
      names.push(r);
      depsOf.push(this.nodes.get(r)?.deps ?? []);
      next.push(0);
      for (let top = 0; top >= 0; top = names.length - 1) {
        const deps = depsOf[top] as readonly string[];
        const i = next[top] as number;
        if (i === deps.length) {
          leave(names.pop() as string);
          depsOf.pop();
          next.pop();
          continue;
        }
        next[top] = i + 1;
        const d = deps[i] as string;
        if (enter(d, names)) {
          names.push(d);
          depsOf.push(this.nodes.get(d)?.deps ?? []);
          next.push(0);
        }
      }
    }
  }

  /** Adds dependencies found at run time (dynamicDeps) to a node; returns the new deps. */
  addDynamicDeps(name: string, fileDeps: readonly string[], taskDeps: readonly string[]): string[] {
    const node = this.nodes.get(name);
    if (node === undefined) return [];
    const extraFiles = fileDeps.map((f) => this.abs(f));
    const known = new Set(node.fileDeps);
    for (const f of extraFiles) {
      if (known.has(f)) continue;
      known.add(f);
      node.fileDeps.push(f);
    }
    const added: string[] = [];
    const deps = new Set(node.deps);
    for (const p of taskDeps) {
      for (const d of this.resolveDep(p, `dynamic task dependency of ${name}`)) {
        if (d === name) continue;
        if (!deps.has(d) && !added.includes(d)) added.push(d);
        if (this.isFingerprintDep(d) && !node.fingerprintDeps.includes(d))
          node.fingerprintDeps = [...node.fingerprintDeps, d];
      }
    }
    for (const d of this.producersOf(extraFiles, name))
      if (!deps.has(d) && !added.includes(d)) added.push(d);
    if (added.length > 0) {
      node.deps = [...node.deps, ...added];
      this.checkCycles([name]);
    }
    return added;
  }

  get(name: string): GraphNode {
    const node = this.nodes.get(name);
    if (node === undefined) throw new UsageError('unknown-task', `unknown task: ${name}`);
    return node;
  }
}
