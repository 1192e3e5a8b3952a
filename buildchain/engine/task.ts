/**
 * Task definitions: the only engine types that domain code (buildchain/tasks/*) needs.
 *
 * The model is doit's: a task has actions, file dependencies, task dependencies and targets,
 * and is skipped when up to date. Unlike doit, the fingerprint also covers the action
 * definitions, declared env keys, tool versions, dependency fingerprints and target contents.
 */
import { callerModule } from './code-fingerprint.ts';

/** Runs one external command. argv only: never a shell string. */
export interface CommandAction {
  readonly kind: 'command';
  /** argv[0] is the program (a resolved tool path or a bare name looked up on PATH). */
  readonly argv: readonly string[];
  /** Extra environment for this command only (values are part of the fingerprint). */
  readonly env?: Readonly<Record<string, string>>;
  /** Working directory; defaults to the project root. */
  readonly cwd?: string;
  /** Data written to the command's stdin. */
  readonly input?: string;
}

/** Runs TypeScript code in the engine process. */
export interface FunctionAction {
  readonly kind: 'function';
  /**
   * Identifies the action and its parameters for the fingerprint (e.g.
   * `"render-product-txt " + JSON.stringify(params)`). The code itself needs no version label:
   * see {@link FunctionAction.module}.
   */
  readonly label: string;
  readonly run: (ctx: ActionContext) => Promise<void>;
  /**
   * Absolute path of the module that defined the action (captured by {@link fn}). Its content
   * and that of every project module it imports join the fingerprint, so an edit of the code
   * re-runs the task (engine/code-fingerprint.ts).
   */
  readonly module?: string;
}

export type Action = CommandAction | FunctionAction;

/** Result of running a command through {@link ActionContext.exec}. */
export interface ExecResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ExecOptions {
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly input?: string;
  /** When false, a non-zero exit resolves instead of throwing. Default true. */
  readonly reject?: boolean;
  /** Time limit in ms (0: none); default COMMAND_TIMEOUT. Expiry kills the command: `command-failed`. */
  readonly timeoutMs?: number;
}

/** What a function action may use while it runs. */
export interface ActionContext {
  /** Full task name, e.g. `images:pull:calico-node`. */
  readonly task: string;
  /** Aborted on SIGINT/SIGTERM or when the build stops after a failure. */
  readonly signal: AbortSignal;
  /** Absolute project root. */
  readonly root: string;
  /**
   * One line of output (shown with -v, kept as the stderr tail of a failure). A line starting
   * with `warning: ` is always shown (an `output` event even without -v).
   */
  log(line: string): void;
  /** Progress for the live view; `total` may be unknown. */
  progress(done: number, total?: number, message?: string): void;
  /**
   * Runs a command in its own process group, killed with the group on abort.
   * Throws a {@link TaskError} with reason `command-failed` on non-zero exit unless reject=false.
   */
  exec(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /**
   * What the task's {@link TargetCheck} observed after its last successful run; undefined
   * without a target check, or when the task never ran (or was forgotten).
   */
  readonly lastObserved?: unknown;
}

export { TaskError, type FailureReason } from '../lib/errors.ts';

/**
 * A custom up-to-date check. Returns `true` when up to date, or a string saying why the task
 * must run (shown by `info` and the dry-run). `false` means "always run".
 */
export type UptodateCheck = boolean | (() => Promise<boolean | string> | boolean | string);

/**
 * What a task leaves that the hashes of its targets do not cover (e.g. which files of a tree
 * share an inode): the engine calls `observe` after each successful run and keeps the value
 * with the task's state (its JSON: keep it small); at the next evaluation `changes(recorded,
 * observe())` says why the task must run again (empty: nothing changed). A task with a target
 * check is never up to date without stored state. The recorded value is also handed to the
 * next run of the actions ({@link ActionContext.lastObserved}). `observe` runs on every
 * evaluation: stat-level work only.
 */
export interface TargetCheck {
  readonly observe: () => Promise<unknown>;
  /** Why `now` differs from `recorded`; absent: the value is only handed to the next run. */
  readonly changes?: (recorded: unknown, now: unknown) => readonly string[];
}

/** Dependencies computed after other tasks ran (doit's create_after / calc_dep). */
export interface DynamicDeps {
  /** Task names (or wildcards) that must have run before `compute` is called. */
  readonly after: readonly string[];
  /** Returns extra file dependencies (e.g. every file under the ISO root). */
  readonly compute: () => Promise<{ fileDeps?: readonly string[]; taskDeps?: readonly string[] }>;
}

export interface TaskDefinition {
  /**
   * `group:sub[:item]`; `/` is accepted as a separator on the command line. A name whose
   * first segment or last segment starts with `_` is private (hidden from `list`).
   */
  readonly name: string;
  /** One line shown by `list`. */
  readonly doc?: string;
  /** Short title shown while running (default: the name). */
  readonly title?: string;
  readonly actions?: readonly Action[];
  /** Files whose content the task reads (absolute paths, or relative to the project root). */
  readonly fileDeps?: readonly string[];
  /** Tasks (names or wildcards like `images:pull:*`) that must run first. */
  readonly taskDeps?: readonly string[];
  /**
   * Files or directories the task produces. A directory target is fingerprinted by its
   * whole tree. A target that is another task's file dep adds an implicit task dependency.
   */
  readonly targets?: readonly string[];
  readonly uptodate?: readonly UptodateCheck[];
  /**
   * `true` removes the targets on `clean` (directories recursively, only under BUILD_ROOT);
   * actions run instead when given.
   */
  readonly clean?: boolean | readonly Action[];
  /** Tools the task needs (names from the tool registry, e.g. `skopeo`): checked before run,
   * their versions go into the fingerprint. */
  readonly tools?: readonly string[];
  /** Environment keys whose values go into the fingerprint. */
  readonly envKeys?: readonly string[];
  /**
   * Extra values that go into the fingerprint (config_changed). A task with a config value is
   * never up to date without stored state: its targets alone cannot show they came from it.
   */
  readonly config?: unknown;
  /** See {@link TargetCheck}. */
  readonly targetCheck?: TargetCheck;
  readonly dynamicDeps?: DynamicDeps;
  /** Stream action output to the console even without -v (e.g. vagrant up). */
  readonly verbose?: boolean;
  /**
   * The outputs may come from the build cache (BUILD_CACHE, docs/cache.md): when the task must
   * run, its entry (keyed by a machine-independent fingerprint) is restored instead, checked;
   * after a run, readwrite mode uploads them. `true`: the targets; `{ outputs }`: these paths
   * (e.g. the directory of which the target is only the manifest). Only for tasks whose
   * outputs depend on nothing but their declared inputs. See {@link CacheableSpec}.
   */
  readonly cacheable?: boolean | CacheableSpec;
  /**
   * The actions wait on the network and disk, not the CPU (an image pull): with the build
   * cache on, the task runs beside the `-n` workers (a few at a time), as restores do.
   */
  readonly ioBound?: boolean;
}

/** How a cacheable task is cached (docs/cache.md). */
export interface CacheableSpec {
  /** The paths the entry carries (default: the targets). */
  readonly outputs?: readonly string[];
  /**
   * Inputs of the outputs that the fingerprint does not see (a lock's content, the checksums
   * of the repositories a download resolves against, the content of the repos a check reads),
   * computed when the cache key is: any JSON value, made portable like the rest of the key.
   */
  readonly keyInputs?: () => Promise<unknown>;
  /**
   * Directories holding the outputs of dependencies (e.g. the downloaded RPMs): an output file
   * that is a hard link of a file there is recorded by reference, not stored again, and is
   * linked back from there on restore (checked against its recorded sha256).
   */
  readonly linkFrom?: readonly string[];
}

/** A tool the buildchain can call, overridable by an env key (e.g. SKOPEO_BIN). */
export interface ToolSpec {
  readonly name: string;
  /** Command or path to run (already resolved from the env key or the default). */
  readonly bin: string;
  /** Env key that overrides it, for the error message. */
  readonly envKey: string;
  /** argv after the bin printing a version, e.g. ['--version']. */
  readonly versionArgs: readonly string[];
  /** How to get it when the setup command does not install it (e.g. Vagrant). */
  readonly installHint?: string;
}

/** Helper for domain code: a command action. */
export function cmd(
  argv: readonly string[],
  options: { env?: Record<string, string>; cwd?: string; input?: string } = {},
): CommandAction {
  return { kind: 'command', argv, ...options };
}

/** Helper for domain code: a function action. */
export function fn(label: string, run: (ctx: ActionContext) => Promise<void>): FunctionAction {
  const module = callerModule(fn);
  return module === undefined
    ? { kind: 'function', label, run }
    : { kind: 'function', label, run, module };
}
