/**
 * Other names for tasks (aliases, e.g. the task names of an older buildchain that users know)
 * and names that no longer exist (retired, with why): the tables behind TaskGraph.resolve.
 */
import { UsageError } from './failures.ts';
import { wildcardToRegExp } from './wildcard.ts';

/**
 * Another name for tasks (e.g. a task name of an older buildchain that users know): selecting
 * it selects `targets` (names, wildcards or group prefixes). Wildcards and group prefixes match
 * alias names too. A task of the same name wins over an alias.
 */
export interface TaskAlias {
  readonly name: string;
  readonly targets: readonly string[];
  /** One line shown by `list --all` (default: `alias of <targets>`). */
  readonly doc?: string;
}

/**
 * A name (or fnmatch pattern of names) that no longer exists: selecting it exits 2 with
 * `why` as the hint, instead of a list of unrelated close names.
 */
export interface RetiredName {
  readonly pattern: string;
  readonly why: string;
}

/** Aliases (computed lazily from their providers) and retired names. */
export class AliasTable {
  private readonly providers: (() => readonly TaskAlias[])[] = [];
  private map: Map<string, TaskAlias> | undefined;
  private readonly retired: { readonly re: RegExp; readonly why: string }[] = [];

  private readonly isValidName: (name: string) => boolean;

  /** @param isValidName the task-name syntax an alias name must follow */
  constructor(isValidName: (name: string) => boolean) {
    this.isValidName = isValidName;
  }

  /**
   * Adds the aliases `provide` returns, called when first needed (a command-line name that is
   * not a task, `list --all`): resolving an exact task name never calls it.
   */
  add(provide: () => readonly TaskAlias[]): void {
    this.providers.push(provide);
    this.map = undefined;
  }

  /**
   * Alias name → alias, computed once. A name for which `isTask` is true, or already taken by
   * an earlier alias, is skipped (the task wins); a malformed one throws `invalid-task`.
   */
  all(isTask: (name: string) => boolean): ReadonlyMap<string, TaskAlias> {
    if (this.map !== undefined) return this.map;
    const map = new Map<string, TaskAlias>();
    for (const provide of this.providers) {
      for (const a of provide()) {
        if (!this.isValidName(a.name)) {
          throw new UsageError('invalid-task', `invalid alias name ${JSON.stringify(a.name)}`);
        }
        if (!isTask(a.name) && !map.has(a.name)) map.set(a.name, a);
      }
    }
    this.map = map;
    return map;
  }

  addRetired(names: readonly RetiredName[]): void {
    for (const r of names) this.retired.push({ re: wildcardToRegExp(r.pattern), why: r.why });
  }

  /** Why `name` no longer exists, when it is retired. */
  retiredWhy(name: string): string | undefined {
    return this.retired.find((r) => r.re.test(name))?.why;
  }
}
