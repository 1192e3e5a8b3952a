/** Command-line parsing (pure): `[command] [options] [tasks...]`, options anywhere. */
import { UsageError } from '../engine/failures.ts';

export type CommandName =
  'run' | 'list' | 'info' | 'clean' | 'forget' | 'ignore' | 'tabcompletion' | 'strace' | 'help';

export interface CliArgs {
  readonly command: CommandName;
  /** Task names or wildcards (command-line spelling: `/` allowed as separator). */
  readonly tasks: readonly string[];
  readonly workers: number;
  readonly keepGoing: boolean;
  readonly dryRun: boolean;
  readonly reporter: 'console' | 'json';
  readonly jsonLog: string | undefined;
  readonly verbose: boolean;
  readonly quiet: boolean;
  readonly alwaysMake: boolean;
  /**
   * list: show subtasks (and aliases) too; clean: clean every task (doit's `--clean-all`);
   * strace: list files outside the project and BUILD_ROOT too.
   */
  readonly all: boolean;
  /** list: show private tasks too. */
  readonly private: boolean;
  /** list: show each task's status (R run, U up to date, I ignored, E error). */
  readonly status: boolean;
  /** list: show each task's file deps. */
  readonly deps: boolean;
  /** clean: clean the tasks' dependencies too (doit's `--clean-dep`). */
  readonly cleanDep: boolean;
  /** tabcompletion: `bash` or `zsh`. */
  readonly shell: 'bash' | 'zsh';
  /** strace: keep the raw trace under BUILD_ROOT/strace/. */
  readonly keepTrace: boolean;
  /** Testing hook: a module exporting `createTasks(config, sources)`. */
  readonly tasksModule: string | undefined;
}

/** The commands (the first word when it is one of these). */
export const COMMANDS: readonly CommandName[] = [
  'run',
  'list',
  'info',
  'clean',
  'forget',
  'ignore',
  'tabcompletion',
  'strace',
  'help',
];

function parseWorkers(value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n < 1) {
    throw new UsageError(
      'usage',
      `-n/--workers needs a positive integer, got ${JSON.stringify(value ?? '')}`,
    );
  }
  return n;
}

/** Parses argv (without node and script). Throws UsageError (`usage`) on a mistake. */
export function parseArgs(argv: readonly string[]): CliArgs {
  const a = {
    command: 'run' as CommandName,
    tasks: [] as string[],
    workers: 1,
    keepGoing: false,
    dryRun: false,
    reporter: 'console' as 'console' | 'json',
    jsonLog: undefined as string | undefined,
    verbose: false,
    quiet: false,
    alwaysMake: false,
    all: false,
    private: false,
    status: false,
    deps: false,
    cleanDep: false,
    shell: 'bash' as 'bash' | 'zsh',
    keepTrace: false,
    tasksModule: undefined as string | undefined,
  };
  let commandSeen = false;
  let onlyPositional = false;
  const positional = (tok: string): void => {
    if (!commandSeen && a.tasks.length === 0 && (COMMANDS as readonly string[]).includes(tok)) {
      a.command = tok as CommandName;
    } else a.tasks.push(tok);
    commandSeen = true;
  };
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i] ?? '';
    if (onlyPositional || !raw.startsWith('-') || raw === '-') {
      positional(raw);
      continue;
    }
    const eq = raw.indexOf('=');
    const opt = raw.startsWith('--') && eq > 0 ? raw.slice(0, eq) : raw;
    const inline = raw.startsWith('--') && eq > 0 ? raw.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) throw new UsageError('usage', `${opt} needs a value`);
      return v;
    };
    switch (opt) {
      case '--':
        onlyPositional = true;
        break;
      case '-n':
        if (a.command === 'clean') a.dryRun = true;
        else a.workers = parseWorkers(value());
        break;
      case '--workers':
        a.workers = parseWorkers(value());
        break;
      case '-k':
      case '--keep-going':
        a.keepGoing = true;
        break;
      case '--dry-run':
        a.dryRun = true;
        break;
      case '--reporter': {
        const r = value();
        if (r !== 'console' && r !== 'json')
          throw new UsageError('usage', `--reporter must be console or json, got ${r}`);
        a.reporter = r;
        break;
      }
      case '--json-log':
        a.jsonLog = value();
        break;
      case '-v':
      case '--verbose':
        a.verbose = true;
        break;
      case '-q':
      case '--quiet':
        a.quiet = true;
        break;
      case '-a':
        // doit's spelling: `clean -a` is --clean-all, `strace -a` --all; elsewhere --always-make.
        if (a.command === 'clean' || a.command === 'strace') a.all = true;
        else a.alwaysMake = true;
        break;
      case '--always-make':
        a.alwaysMake = true;
        break;
      case '--all':
      case '--clean-all':
        a.all = true;
        break;
      case '-p':
      case '--private':
        a.private = true;
        break;
      case '--status':
        a.status = true;
        break;
      case '--deps':
        a.deps = true;
        break;
      case '-c':
      case '--clean-dep':
        a.cleanDep = true;
        break;
      case '--shell': {
        const sh = value();
        if (sh !== 'bash' && sh !== 'zsh')
          throw new UsageError('usage', `--shell must be bash or zsh, got ${sh}`);
        a.shell = sh;
        break;
      }
      case '--keep':
        a.keepTrace = true;
        break;
      case '--tasks-module':
        a.tasksModule = value();
        break;
      case '-h':
      case '--help':
        a.command = 'help';
        break;
      default:
        if (/^-n\d+$/.test(raw)) a.workers = parseWorkers(raw.slice(2));
        else throw new UsageError('usage', `unknown option ${raw}`, 'see `./doit.sh --help`');
    }
  }
  if (a.command === 'strace' && a.tasks.length !== 1) {
    throw new UsageError(
      'usage',
      'strace needs exactly one task name',
      'e.g. ./doit.sh strace packaging:rpm:calico-cni-plugin',
    );
  }
  if (a.command === 'info' && a.tasks.length !== 1) {
    throw new UsageError('usage', 'info needs exactly one task name', 'e.g. ./doit.sh info iso');
  }
  if (a.command === 'ignore' && a.tasks.length === 0) {
    throw new UsageError(
      'usage',
      'ignore needs at least one task name',
      'e.g. ./doit.sh ignore images:pull:grafana (./doit.sh forget images:pull:grafana undoes it)',
    );
  }
  return a;
}

/**
 * `verify PATH.iso`: the `verify` task takes the ISO to check as the next argument. Returns the
 * task list without that path, and the path (undefined when not given). A path is an argument
 * after `verify` that ends in `.iso` or contains a `/`.
 */
export function extractVerifyPath(tasks: readonly string[]): {
  tasks: string[];
  isoPath: string | undefined;
} {
  const i = tasks.indexOf('verify');
  const next = i >= 0 ? tasks[i + 1] : undefined;
  if (next === undefined || !(next.endsWith('.iso') || next.includes('/')))
    return { tasks: [...tasks], isoPath: undefined };
  return { tasks: tasks.filter((_, j) => j !== i + 1), isoPath: next };
}
