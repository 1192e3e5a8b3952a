/**
 * `strace TASK [-a/--all] [--keep]`: doit's `strace` command. Runs TASK again (its
 * dependencies as a normal build would) under `strace -f`, then lists the files the task opened
 * while it ran, in order: `R path` read, `W path` written (created, truncated, renamed or
 * linked into place). Unlike doit's, every action is seen, not only command actions: the whole
 * build process is traced and only what happens between the task's `start` and `done` (or
 * `fail`) events is kept (the child build marks them by opening two paths that do not exist).
 * A file read that is not a file dep of the task is flagged `(not a file dep)`, a file written
 * outside its targets `(not a target)`: what to declare.
 *
 * Limits (as doit's): relative paths count from the project root (a `chdir` is not followed);
 * a tool may skip work whose output exists. Files under the project root or BUILD_ROOT are
 * listed, `--all` lists the others too; the buildchain's own files (dist/, node_modules/, the
 * engine state) never. `--keep` keeps the raw trace under BUILD_ROOT/strace/. The task runs with
 * its state forgotten and without the build cache.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { BuildConfig } from '../config/config.ts';
import type { BuildEvent, Reporter } from '../engine/events.ts';
import { runCommand } from '../engine/exec/run-command.ts';
import { UsageError } from '../engine/failures.ts';
import type { TaskGraph } from '../engine/graph.ts';
import { findExecutable } from '../engine/tool-check.ts';
import { isAtOrInside, removeInsideSync } from '../lib/fs/fence.ts';
import type { CliArgs } from './args.ts';
import { stateDirOf } from './context.ts';
import { forgetCommand } from './forget.ts';
import { taskStatuses } from './status.ts';

/** The child build's environment key naming the marker paths (see {@link straceMarking}). */
export const STRACE_MARK_ENV = 'BUILDCHAIN_STRACE_MARK';

/** System calls that open, create or move a path into place. */
const TRACED = 'open,openat,openat2,creat,rename,renameat,renameat2,link,linkat,symlink,symlinkat';

/** One file access seen in the trace. */
export interface Access {
  /** Seconds (strace -ttt). */
  readonly ts: number;
  /** R read, W written, `moved` renamed to another name (a temporary file put in place). */
  readonly mode: 'R' | 'W' | 'moved';
  /** Absolute path. */
  readonly path: string;
}

/**
 * A reporter that, for the task named by `mark` (`<prefix>\n<task>`), opens `<prefix>-begin`
 * on its `start` event and `<prefix>-end` on its `done`/`fail`/`cached` event: two paths that
 * do not exist, so the opens fail and change nothing, but the trace shows when the task ran.
 */
export function straceMarking(reporter: Reporter, mark: string): Reporter {
  const [prefix = '', task = ''] = mark.split('\n');
  const touch = (suffix: string): void => {
    try {
      openSync(`${prefix}-${suffix}`, 'r');
    } catch {
      // expected: the path does not exist
    }
  };
  return {
    emit: (e: BuildEvent) => {
      const t = 'task' in e ? e.task : undefined;
      if (t === task && e.event === 'start') touch('begin');
      reporter.emit(e);
      if (t === task && (e.event === 'done' || e.event === 'fail' || e.event === 'cached'))
        touch('end');
    },
    close: () => reporter.close(),
  };
}

/** The arguments of one traced call: `a, "b, c", {x=1}` → `['a', '"b, c"', '{x=1}']`. */
function splitArgs(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '{' || c === '[' || c === '(' || c === '<') depth++;
    else if (c === '}' || c === ']' || c === ')' || c === '>') depth--;
    else if (c === ',' && depth === 0) {
      out.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(text.slice(start).trim());
  return out;
}

/** A C string as strace prints it (`"a\"b\303\251"`), decoded as UTF-8; undefined if not one. */
function unquote(arg: string | undefined): string | undefined {
  if (arg?.startsWith('"') !== true || !arg.endsWith('"')) return undefined;
  const bytes: number[] = [];
  const simple: Record<string, number> = { n: 10, t: 9, r: 13, v: 11, f: 12, '"': 34, '\\': 92 };
  const body = arg.slice(1, -1);
  for (let i = 0; i < body.length; i++) {
    const c = body[i] ?? '';
    if (c !== '\\') {
      bytes.push(...Buffer.from(c));
      continue;
    }
    const n = body[i + 1] ?? '';
    const octal = /^[0-7]{1,3}/.exec(body.slice(i + 1))?.[0];
    if (octal !== undefined) {
      bytes.push(parseInt(octal, 8));
      i += octal.length;
    } else if (n === 'x') {
      bytes.push(parseInt(body.slice(i + 2, i + 4), 16));
      i += 3;
    } else {
      bytes.push(simple[n] ?? n.charCodeAt(0));
      i++;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The directory a `dirfd` argument stands for (`AT_FDCWD`, or `3</dir>` with strace -y). */
function dirOf(arg: string | undefined, cwd: string): string {
  const m = /^\d+<(.*)>$/.exec(arg ?? '');
  return m?.[1] ?? cwd;
}

const LINE = /^(\d+\.\d+) (\w+)\((.*)\) += (-?\d+)/;

/**
 * The accesses of one trace file (strace -ttt -y), in order: successful opens (W when opened
 * for writing, creating or truncating; directories skipped), creat, and the new names of
 * renames and links. Relative paths count from `cwd`.
 */
export function parseTrace(text: string, cwd: string): Access[] {
  const out: Access[] = [];
  for (const line of text.split('\n')) {
    const m = LINE.exec(line);
    if (m === null || (m[4] ?? '').startsWith('-')) continue;
    const ts = Number(m[1]);
    const call = m[2] ?? '';
    const args = splitArgs(m[3] ?? '');
    const at = (dirArg: string | undefined, pathArg: string | undefined): string | undefined => {
      const p = unquote(pathArg);
      return p === undefined ? undefined : path.resolve(dirOf(dirArg, cwd), p);
    };
    let file: string | undefined;
    let mode: Access['mode'] = 'W';
    if (call === 'open' || call === 'openat' || call === 'openat2') {
      file = call === 'open' ? at(undefined, args[0]) : at(args[0], args[1]);
      const flags = (call === 'open' ? args[1] : args[2]) ?? '';
      if (flags.includes('O_DIRECTORY')) continue;
      mode = /O_WRONLY|O_RDWR|O_CREAT|O_TRUNC/.test(flags) ? 'W' : 'R';
    } else if (call === 'creat') file = at(undefined, args[0]);
    else if (call === 'rename' || call === 'link') file = at(undefined, args[1]);
    else if (call === 'renameat' || call === 'renameat2' || call === 'linkat')
      file = at(args[2], args[3]);
    if (call.startsWith('rename')) {
      const from = call === 'rename' ? at(undefined, args[0]) : at(args[0], args[1]);
      if (from !== undefined) out.push({ ts, mode: 'moved', path: from });
    } else if (call === 'symlink') file = at(undefined, args[1]);
    else if (call === 'symlinkat') file = at(args[1], args[2]);
    if (file !== undefined) out.push({ ts, mode, path: file });
  }
  return out;
}

/** The time of the first open of `marker` in the accesses of all trace files (failed opens). */
function markerTime(texts: readonly string[], marker: string): number | undefined {
  const quoted = JSON.stringify(marker);
  let best: number | undefined;
  for (const text of texts)
    for (const line of text.split('\n'))
      if (line.includes(quoted)) {
        const ts = Number(line.slice(0, line.indexOf(' ')));
        if (best === undefined || ts < best) best = ts;
      }
  return best;
}

/** What the task did, as listed: first R and first W of each path, flagged when undeclared. */
export interface StraceLine {
  readonly mode: 'R' | 'W';
  readonly path: string;
  /** `not a file dep` / `not a target` when the task does not declare it. */
  readonly note?: string;
}

/**
 * The accesses inside [begin, end], in order, without the buildchain's own files, each path
 * once per mode; left out: a read of a file the task wrote before, and temporary files renamed
 * into place (their final name is listed). Flagged against the declared file deps and targets.
 */
export function straceLines(
  accesses: readonly Access[],
  o: {
    readonly begin: number;
    readonly end: number;
    readonly keep: (file: string) => boolean;
    readonly fileDeps: ReadonlySet<string>;
    readonly targets: readonly string[];
  },
): StraceLine[] {
  const underTarget = (f: string): boolean => o.targets.some((t) => isAtOrInside(t, f));
  const inWindow = accesses
    .filter((a) => a.ts >= o.begin && a.ts <= o.end && o.keep(a.path))
    .sort((x, y) => x.ts - y.ts);
  const moved = new Set(inWindow.filter((a) => a.mode === 'moved').map((a) => a.path));
  const seen = new Set<string>();
  const written = new Set<string>();
  const out: StraceLine[] = [];
  for (const a of inWindow) {
    if (a.mode === 'moved' || (a.mode === 'W' && moved.has(a.path))) continue;
    if (a.mode === 'R' && written.has(a.path)) continue;
    if (a.mode === 'W') written.add(a.path);
    const key = `${a.mode} ${a.path}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const declared =
      a.mode === 'R' ? o.fileDeps.has(a.path) || underTarget(a.path) : underTarget(a.path);
    out.push({
      mode: a.mode,
      path: a.path,
      ...(declared ? {} : { note: a.mode === 'R' ? 'not a file dep' : 'not a target' }),
    });
  }
  return out;
}

/** True for the files an strace listing shows: not the buildchain's own, nor the system's. */
function keeper(config: BuildConfig, all: boolean, traceDir: string): (f: string) => boolean {
  const own = [
    path.join(config.root, 'dist'),
    path.join(config.root, 'node_modules'),
    stateDirOf(config),
    traceDir,
    '/proc',
    '/sys',
    '/dev',
  ];
  const inside = [config.root, config.buildRoot];
  return (f) =>
    !own.some((d) => isAtOrInside(d, f)) && (all || inside.some((d) => isAtOrInside(d, f)));
}

export async function straceCommand(
  args: CliArgs,
  config: BuildConfig,
  graph: TaskGraph,
  reporter: Reporter,
  signal: AbortSignal,
): Promise<number> {
  const strace = findExecutable(config.tools.strace?.bin ?? 'strace', config.root);
  if (strace === undefined)
    throw new UsageError(
      'usage',
      `strace not found (${config.tools.strace?.bin ?? 'strace'})`,
      'install it (npm run setup installs the Debian package strace) or set STRACE_BIN',
    );
  const resolved = graph.resolve(args.tasks[0] ?? '');
  const name = resolved[0];
  if (resolved.length !== 1 || name === undefined)
    throw new UsageError(
      'usage',
      `strace traces one task; ${args.tasks[0] ?? ''} names ${resolved.length}`,
      `name one of them, e.g. ./doit.sh strace ${resolved[0] ?? 'iso'}`,
    );
  const node = graph.get(name);
  if ((node.def.actions ?? []).length === 0)
    throw new UsageError(
      'usage',
      `${name} has no actions of its own (a group of ${node.deps.length} tasks): nothing to trace`,
      `trace one of its tasks, e.g. ./doit.sh strace ${node.deps[0] ?? name} (./doit.sh list --all ${name})`,
    );
  // Dynamic dependencies (e.g. the ISO root's files) join the node's file deps when computed.
  await taskStatuses(graph, [name], config, { alwaysMake: false, signal });
  const traceDir = path.join(config.buildRoot, 'strace');
  removeInsideSync(config.buildRoot, traceDir);
  mkdirSync(traceDir, { recursive: true });
  const marker = path.join(traceDir, `mark-${randomBytes(8).toString('hex')}`);
  forgetCommand({ ...args, tasks: [name] }, config, graph, { ...reporter, emit: () => undefined });
  const script = process.argv[1] ?? '';
  const child = [
    strace,
    ...['-f', '-ff', '-ttt', '-y', '-qq', '-e', `trace=${TRACED}`],
    ...['-o', path.join(traceDir, 'trace')],
    process.execPath,
    ...process.execArgv,
    script,
    ...['--reporter', args.reporter, '-n', '1'],
    ...(args.verbose ? ['-v'] : []),
    ...(args.tasksModule === undefined ? [] : ['--tasks-module', args.tasksModule]),
    name,
  ];
  const r = await runCommand(child, {
    cwd: process.cwd(),
    env: { [STRACE_MARK_ENV]: `${marker}\n${name}`, BUILD_CACHE: '' },
    signal,
    reject: false,
    timeoutMs: 0,
    onLine: (stream, line) => {
      (stream === 'stdout' ? process.stdout : process.stderr).write(`${line}\n`);
    },
  });
  const texts = readdirSync(traceDir)
    .filter((f) => f.startsWith('trace.'))
    .map((f) => readFileSync(path.join(traceDir, f), 'utf8'));
  const begin = markerTime(texts, `${marker}-begin`);
  const lines =
    begin === undefined
      ? []
      : straceLines(
          texts.flatMap((t) => parseTrace(t, config.root)),
          {
            begin,
            end: markerTime(texts, `${marker}-end`) ?? Infinity,
            keep: keeper(config, args.all, traceDir),
            fileDeps: new Set(node.fileDeps),
            targets: node.targets,
          },
        );
  const shown = (p: string): string =>
    p.startsWith(config.root + path.sep) ? path.relative(config.root, p) : p;
  for (const l of lines)
    process.stdout.write(
      args.reporter === 'json'
        ? `${JSON.stringify({ event: 'strace', task: name, mode: l.mode, path: shown(l.path), ...(l.note === undefined ? {} : { note: l.note }) })}\n`
        : `${l.mode} ${shown(l.path)}${l.note === undefined ? '' : `  (${l.note})`}\n`,
    );
  if (begin === undefined)
    process.stderr.write(
      `strace: ${name} did not run (see the build output above): nothing to list\n`,
    );
  if (args.keepTrace) process.stderr.write(`strace: the raw trace is kept in ${traceDir}\n`);
  else removeInsideSync(config.buildRoot, traceDir);
  return r.exitCode;
}
