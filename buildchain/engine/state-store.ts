/**
 * Stored task states (fingerprints) under `<BUILD_ROOT>/.buildchain/`: a snapshot
 * (`state.json`, written to a temp name then renamed) plus an append-only log (`state.log`,
 * one JSON line per change) replayed on load and folded into the snapshot at the end of a run.
 *
 * Crash safety: `invalidate` appends a deletion line before a task's actions run (a write to
 * the page cache survives `kill -9`); successful states are appended in batches; a missing
 * entry only ever makes a task stale. A torn last log line is ignored. The snapshot holds
 * columns (see {@link Snapshot}); a damaged row is skipped (its task is stale), a snapshot of an
 * earlier format (3, 4) is read and written back in the current one.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import {
  AtomicWriteError,
  describeErrno,
  isNoRoomCode,
  writeFileAtomicSync,
} from '../lib/fs/atomic-write.ts';
import type { FileRecord, ModuleRecord } from './fingerprint.ts';
import { FileTable } from './file-table.ts';
import { RecordMap } from './record-map.ts';
import { RowLookup } from './row-lookup.ts';
import { TaskError } from './task.ts';

/**
 * The state could not be written (disk full, read-only, ...). Thrown by `invalidate` before a
 * task's actions run (the task then fails and its actions never start) and by `save`; the
 * stored state stays consistent: at worst some tasks run again.
 */
export class StateWriteError extends TaskError {
  constructor(file: string, cause: unknown) {
    const code =
      cause instanceof AtomicWriteError
        ? cause.code
        : (cause as NodeJS.ErrnoException | undefined)?.code;
    const buildRoot = path.dirname(path.dirname(file));
    super('invalid-input', `cannot write the build state ${file}: ${describeErrno(code, cause)}`, {
      hint: isNoRoomCode(code)
        ? `free space on the file system holding ${buildRoot} (or set BUILD_ROOT to another one), then build again; tasks whose state was not recorded run again`
        : `make ${path.dirname(file)} writable (or set BUILD_ROOT to a writable directory), then build again`,
    });
    this.name = 'StateWriteError';
  }
}

/** The parts a fingerprint is made of; compared one by one to say why a task is stale. */
export interface FingerprintParts {
  /** Hash of the action definitions, targets and clean settings. */
  readonly actions: string;
  /** Hash of the task's `config` value ('' when none). */
  readonly config: string;
  /** Declared env key → hash of its value. */
  readonly env: Readonly<Record<string, string>>;
  /** Tool name → hash of its version output. */
  readonly tools: Readonly<Record<string, string>>;
  /** Absolute file dep → content hash. */
  readonly files: Readonly<Record<string, string>>;
  /** File-producing dependency → its fingerprint. */
  readonly deps: Readonly<Record<string, string>>;
}

/** What is stored for a task after a successful run. */
export interface TaskState {
  readonly fp: string;
  /**
   * The {@link FingerprintParts} as JSON text: parsed only when the fingerprint differs (to
   * say why), so that loading a large state stays cheap.
   */
  readonly parts: string;
  /** Absolute target → content hash after the run. */
  readonly targets: Readonly<Record<string, string>>;
  /** What the task's target check observed after the run (see TargetCheck in task.ts). */
  readonly observed?: unknown;
}

/** Cached tool version, keyed by resolved binary path: `[mtimeMs, size, ino, version]`. */
export type ToolRecord = [number, number, number, string];

/** How the snapshot's second line starts (see {@link Snapshot}). */
const PARTS_KEY = '"parts":';

/**
 * `state.json` (version 5), one JSON document on two lines: the first holds everything but the
 * tasks' parts (`{"version":5,…,"modules":{…},`), the second `"parts":[…]}`, parsed only when a
 * stale task's reasons need them (a no-op never does: ~40 % of the bytes). A snapshot that is
 * not so laid out (reformatted by hand) is parsed whole.
 * Loading a state of 10 000 tasks and 20 000 files builds no object per task or per file: the
 * tasks are looked up by row (names, fingerprints, targets flat), the file records are a
 * {@link FileTable} (their stat numbers one typed array, base64 in the file).
 */
interface Snapshot {
  version: typeof STATE_VERSION;
  tasks: {
    names: string[];
    fps: string[];
    /** Number of targets per task; their `target, hash` pairs follow each other in `targets`. */
    targetCounts: number[];
    targets: string[];
    /** `[row, observed]` of the tasks with a target check (see TargetCheck in task.ts). */
    observed: [number, unknown][];
  };
  files: { paths: string[]; hashes: string[]; stats: string };
  tools: Record<string, ToolRecord>;
  /** Import lists of code modules. */
  modules: Record<string, ModuleRecord>;
  /** The parts JSON of each task, by row (the last key: the second line). */
  parts?: string[];
}

/** Version 4 (read to upgrade): rows. */
interface SnapshotV4 {
  version: 4;
  /** `[name, fp, parts, [target, hash, target, hash, ...], observed?]` per task. */
  tasks?: unknown;
  /** {@link FILE_ROW} values per file: path, mtimeMs, size, ino, hash, trusted, ctimeMs|null. */
  files?: unknown;
  tools?: Record<string, ToolRecord>;
  modules?: Record<string, ModuleRecord>;
}

/** Values per file in {@link SnapshotV4.files}. */
const FILE_ROW = 7;

/** Version 3 (read to upgrade): objects keyed by task name and by path. */
interface SnapshotV3 {
  version: 3;
  tasks?: Record<string, unknown>;
  files?: Record<string, unknown>;
  tools?: Record<string, ToolRecord>;
  modules?: Record<string, ModuleRecord>;
}

type LogLine = { del: string } | { set: string; state: TaskState };

const FLUSH_EVERY = 500;
/**
 * Bumped when the format changes: a state of an unknown version is ignored (every task is
 * stale), never misread; versions 3 (objects) and 4 (rows) are read and written again as 5.
 */
const STATE_VERSION = 5;

const isString = (v: unknown): v is string => typeof v === 'string';
const isNumber = (v: unknown): v is number => typeof v === 'number';

/** A task state read from a snapshot, or undefined when it is not one (never misread). */
function taskState(fp: unknown, parts: unknown, targets: unknown): TaskState | undefined {
  if (!isString(fp) || !isString(parts)) return undefined;
  if (!Array.isArray(targets) || targets.length % 2 !== 0) return undefined;
  const record = Object.create(null) as Record<string, string>;
  for (let i = 0; i < targets.length; i += 2) {
    const t: unknown = targets[i];
    const h: unknown = targets[i + 1];
    if (!isString(t) || !isString(h)) return undefined;
    record[t] = h;
  }
  return { fp, parts, targets: record };
}

/** A file record read from a snapshot, or undefined when it is not one. */
function fileRecord(
  mtime: unknown,
  size: unknown,
  ino: unknown,
  hash: unknown,
  trusted: unknown,
  ctime: unknown,
): FileRecord | undefined {
  if (!isNumber(mtime) || !isNumber(size) || !isNumber(ino) || !isString(hash)) return undefined;
  if (trusted !== 0 && trusted !== 1) return undefined;
  // A record without ctime (older states) never matches a stat: the file is hashed again.
  return isNumber(ctime)
    ? [mtime, size, ino, hash, trusted, ctime]
    : [mtime, size, ino, hash, trusted];
}

function recordOf<V>(v: unknown): Record<string, V> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, V>) : {};
}

/**
 * The tasks of a version 5 snapshot, by row: read as they are, without an object per task.
 * A row whose name, fingerprint or targets are damaged is left out (its task is stale).
 */
class TaskRows {
  readonly names: string[];
  readonly fps: string[];
  /** Index in `targets` of each row's first pair; `starts[n]` is the end. */
  readonly starts: Int32Array;
  readonly targets: string[];
  readonly observed: Map<number, unknown>;
  /** The parts line (`"parts":[…]}`), parsed on first use; or the parts already parsed. */
  private partsText: unknown;
  private parts: unknown[] | undefined;
  private readonly lookup: RowLookup;
  /** The number of rows saved (before any damaged tail was dropped): the parts' count. */
  private readonly saved: number;

  constructor(t: Snapshot['tasks'], partsText: unknown) {
    const names: unknown = t.names;
    const fps: unknown = t.fps;
    const counts: unknown = t.targetCounts;
    const targets: unknown = t.targets;
    const n = Array.isArray(names) ? names.length : 0;
    const ok =
      Array.isArray(names) &&
      Array.isArray(fps) &&
      Array.isArray(counts) &&
      Array.isArray(targets) &&
      fps.length === n &&
      counts.length === n;
    this.saved = ok ? n : 0;
    this.names = ok ? (names as string[]) : [];
    this.fps = ok ? (fps as string[]) : [];
    this.targets = ok ? (targets as string[]) : [];
    this.starts = new Int32Array(this.names.length + 1);
    let at = 0;
    for (let i = 0; i < this.names.length; i++) {
      this.starts[i] = at;
      const c: unknown = (counts as unknown[])[i];
      const end = at + 2 * (c as number);
      if (!Number.isInteger(c) || (c as number) < 0 || end > this.targets.length) {
        // Where the pairs of this row and the next end is unknown: those rows are dropped.
        this.names.length = i;
        break;
      }
      let good = isString(this.names[i]) && isString(this.fps[i]);
      for (let j = at; j < end; j++) if (!isString(this.targets[j])) good = false;
      at = end;
      if (!good) this.names[i] = '';
    }
    this.starts[this.names.length] = at;
    this.observed = new Map();
    if (Array.isArray(t.observed))
      for (const o of t.observed as unknown[])
        if (Array.isArray(o) && Number.isInteger(o[0]) && o.length === 2)
          this.observed.set(o[0] as number, o[1]);
    this.partsText = partsText;
    this.lookup = new RowLookup(this.names);
  }

  get length(): number {
    return this.names.length;
  }

  /** The row of task `name`, or -1 (see RowLookup). */
  rowOf(name: string): number {
    return this.lookup.rowOf(name);
  }

  /** The recorded hash of `target` in row `row`. */
  target(row: number, target: string): string | undefined {
    const end = this.starts[row + 1] as number;
    for (let i = this.starts[row] as number; i < end; i += 2)
      if (this.targets[i] === target) return this.targets[i + 1];
    return undefined;
  }

  /**
   * The parts JSON of row `row`: '' when the parts line is damaged (the task's reasons then say
   * only that its fingerprint changed; its fingerprint alone decides whether it runs).
   */
  partsOf(row: number): string {
    if (this.parts === undefined) {
      let p: unknown = this.partsText;
      if (isString(p)) {
        const text = p.trimEnd();
        try {
          p =
            text.startsWith(PARTS_KEY) && text.endsWith('}')
              ? JSON.parse(text.slice(PARTS_KEY.length, -1))
              : undefined;
        } catch {
          p = undefined;
        }
      }
      this.parts = Array.isArray(p) && p.length === this.saved ? (p as unknown[]) : [];
      this.partsText = undefined;
    }
    const p = this.parts[row];
    return isString(p) ? p : '';
  }

  state(row: number): TaskState {
    const targets = Object.create(null) as Record<string, string>;
    const end = this.starts[row + 1] as number;
    for (let i = this.starts[row] as number; i < end; i += 2)
      targets[this.targets[i] as string] = this.targets[i + 1] as string;
    const st: TaskState = { fp: this.fps[row] as string, parts: this.partsOf(row), targets };
    return this.observed.has(row) ? { ...st, observed: this.observed.get(row) } : st;
  }
}

export class StateStore {
  readonly dir: string;
  /** The snapshot's tasks (version 5), overridden by {@link changed}. */
  private rows: TaskRows | undefined;
  /** Tasks set (a state) or removed (null) since the snapshot, and every task of an older one. */
  private readonly changed = new Map<string, TaskState | null>();
  readonly files: FileTable;
  readonly tools: RecordMap<ToolRecord>;
  readonly modules: RecordMap<ModuleRecord>;
  private logFd: number | undefined;
  private pending: string[] = [];
  private dirty = false;
  /** A log write failed midway: the next line must start on a new line (the torn one is skipped on replay). */
  private torn = false;

  private constructor(
    dir: string,
    tools: Record<string, ToolRecord> = {},
    modules: Record<string, ModuleRecord> = {},
    files: FileTable = new FileTable(),
  ) {
    this.dir = dir;
    this.tools = new RecordMap(tools);
    this.modules = new RecordMap(modules);
    this.files = files;
  }

  /** Loads the snapshot and replays the log. A missing or unreadable snapshot means "empty". */
  static open(dir: string): StateStore {
    let parsed: unknown;
    let partsText: string | undefined;
    try {
      // Bytes first: only the first line is decoded and parsed now (see Snapshot).
      const bytes = readFileSync(path.join(dir, 'state.json'));
      const nl = bytes.indexOf(0x0a);
      const head = nl < 0 ? '' : bytes.toString('utf8', 0, nl);
      if (head.endsWith(',')) {
        try {
          parsed = JSON.parse(`${head.slice(0, -1)}}`);
          partsText = bytes.toString('utf8', nl + 1);
        } catch {
          parsed = undefined;
        }
      }
      // Versions 3 and 4 (one line), or a snapshot written out another way: the whole text.
      parsed ??= JSON.parse(bytes.toString('utf8'));
    } catch {
      // No snapshot yet, or an unreadable one: every task is stale, which is safe.
    }
    const version = (parsed as { version?: unknown } | null | undefined)?.version;
    let store: StateStore;
    if (version === STATE_VERSION)
      store = StateStore.fromColumns(dir, parsed as Snapshot, partsText);
    else if (version === 4 || version === 3) {
      store =
        version === 4
          ? StateStore.fromRows(dir, parsed as SnapshotV4)
          : StateStore.fromV3(dir, parsed as SnapshotV3);
      // Written again in the current format by the next save.
      store.dirty = true;
    } else store = new StateStore(dir);
    store.replay();
    return store;
  }

  private static fromColumns(
    dir: string,
    snap: Snapshot,
    partsText: string | undefined,
  ): StateStore {
    const f = recordOf<unknown>(snap.files);
    const store = new StateStore(
      dir,
      recordOf(snap.tools),
      recordOf(snap.modules),
      FileTable.fromColumns(f.paths, f.hashes, f.stats),
    );
    const tasks = recordOf<unknown>(snap.tasks) as unknown as Snapshot['tasks'];
    store.rows = new TaskRows(tasks, partsText ?? snap.parts);
    return store;
  }

  private static fromRows(dir: string, snap: SnapshotV4): StateStore {
    const store = new StateStore(dir, recordOf(snap.tools), recordOf(snap.modules));
    const tasks: unknown = snap.tasks;
    if (Array.isArray(tasks)) {
      for (const row of tasks as unknown[]) {
        if (!Array.isArray(row) || !isString(row[0])) continue;
        const state = taskState(row[1], row[2], row[3]);
        if (state === undefined) continue;
        store.changed.set(row[0], row.length > 4 ? { ...state, observed: row[4] } : state);
      }
    }
    const files: unknown = snap.files;
    // The file records are a cache: a damaged list is dropped whole (the files are hashed again).
    if (Array.isArray(files) && files.length % FILE_ROW === 0) {
      const f = files as unknown[];
      for (let i = 0; i < f.length; i += FILE_ROW) {
        const p = f[i];
        const rec = fileRecord(f[i + 1], f[i + 2], f[i + 3], f[i + 4], f[i + 5], f[i + 6]);
        if (isString(p) && p !== '' && rec !== undefined) store.files.set(p, rec);
      }
    }
    return store;
  }

  private static fromV3(dir: string, snap: SnapshotV3): StateStore {
    const store = new StateStore(dir, recordOf(snap.tools), recordOf(snap.modules));
    for (const [name, v] of Object.entries(recordOf<unknown>(snap.tasks))) {
      const s = recordOf<unknown>(v);
      const targets = Object.entries(recordOf<unknown>(s.targets)).flat();
      const state = taskState(s.fp, s.parts, targets);
      if (state === undefined) continue;
      store.changed.set(name, 'observed' in s ? { ...state, observed: s.observed } : state);
    }
    for (const [p, r] of Object.entries(recordOf<unknown>(snap.files))) {
      if (!Array.isArray(r) || p === '') continue;
      const rec = fileRecord(r[0], r[1], r[2], r[3], r[4], r[5]);
      if (rec !== undefined) store.files.set(p, rec);
    }
    return store;
  }

  private replay(): void {
    let text: string;
    try {
      text = readFileSync(path.join(this.dir, 'state.log'), 'utf8');
    } catch {
      return;
    }
    this.dirty = text.length > 0;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      let entry: LogLine;
      try {
        entry = JSON.parse(line) as LogLine;
      } catch {
        continue; // a torn last line after a crash
      }
      if ('del' in entry) this.changed.set(entry.del, null);
      else if (typeof entry.state.parts === 'string') this.changed.set(entry.set, entry.state);
      else this.changed.set(entry.set, null); // an older format: forget, never misread
    }
  }

  /** The snapshot row of a task not changed since, or -1. */
  private rowOf(name: string): number {
    if (this.rows === undefined || (this.changed.size > 0 && this.changed.has(name))) return -1;
    const row = this.rows.rowOf(name);
    return row >= 0 && this.rows.names[row] === name ? row : -1;
  }

  /** Every stored task state by name (built on each call: for `forget` and tests). */
  get tasks(): ReadonlyMap<string, TaskState> {
    const out = new Map<string, TaskState>();
    const rows = this.rows;
    if (rows !== undefined)
      for (let i = 0; i < rows.length; i++) {
        const name = rows.names[i] as string;
        if (name !== '' && !this.changed.has(name)) out.set(name, rows.state(i));
      }
    for (const [name, st] of this.changed) if (st !== null) out.set(name, st);
    return out;
  }

  /**
   * The stored fingerprint of a task, without building its state (the no-op path: see
   * {@link targetHash}).
   */
  fingerprintOf(name: string): string | undefined {
    const row = this.rowOf(name);
    if (row >= 0) return (this.rows as TaskRows).fps[row];
    return this.changed.get(name)?.fp;
  }

  /** The hash recorded for a task's target after its last run. */
  targetHash(name: string, target: string): string | undefined {
    const row = this.rowOf(name);
    if (row >= 0) return (this.rows as TaskRows).target(row, target);
    return this.changed.get(name)?.targets[target];
  }

  private has(name: string): boolean {
    return this.rowOf(name) >= 0 || (this.changed.get(name) ?? null) !== null;
  }

  get(name: string): TaskState | undefined {
    const row = this.rowOf(name);
    if (row >= 0) return (this.rows as TaskRows).state(row);
    return this.changed.get(name) ?? undefined;
  }

  /** Removes a task's state durably before its actions run. */
  invalidate(name: string): void {
    if (!this.has(name)) return;
    this.changed.set(name, null);
    this.pending = this.pending.filter((l) => !l.startsWith(`{"set":${JSON.stringify(name)},`));
    this.append(`${JSON.stringify({ del: name })}\n`);
  }

  /** Records a successful run (appended to the log in batches). */
  set(name: string, state: TaskState): void {
    this.changed.set(name, state);
    this.pending.push(`${JSON.stringify({ set: name, state })}\n`);
    this.dirty = true;
    if (this.pending.length >= FLUSH_EVERY) this.flush();
  }

  /** Forgets tasks (all when `names` is undefined). */
  forget(names?: readonly string[]): void {
    if (names === undefined) {
      this.rows = undefined;
      this.changed.clear();
      this.pending = [];
      this.dirty = true;
      return;
    }
    for (const n of names) this.invalidate(n);
    this.dirty = true;
  }

  /**
   * Appends the pending states to the log. Never throws (it runs on a timer): states that
   * could not be appended stay in memory for `save`, which reports its own failure; losing
   * them only makes tasks rerun.
   */
  flush(): void {
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    try {
      this.append(text);
    } catch {
      this.dirty = true;
    }
  }

  private logFile(): string {
    return path.join(this.dir, 'state.log');
  }

  /** Appends whole lines to the log or throws {@link StateWriteError}. */
  private append(text: string): void {
    try {
      if (this.logFd === undefined) {
        mkdirSync(this.dir, { recursive: true });
        this.logFd = openSync(this.logFile(), 'a');
      }
      const buf = Buffer.from(this.torn ? `\n${text}` : text);
      this.torn = true;
      let off = 0;
      while (off < buf.length) off += writeSync(this.logFd, buf, off, buf.length - off);
      this.torn = false;
    } catch (err) {
      throw new StateWriteError(this.logFile(), err);
    }
    this.dirty = true;
  }

  /** True when the caches changed since load (the snapshot should be rewritten). */
  markDirty(): void {
    this.dirty = true;
  }

  /** Writes the snapshot atomically and removes the folded log; throws {@link StateWriteError}. */
  save(): void {
    if (!this.dirty) return;
    this.pending = [];
    try {
      mkdirSync(this.dir, { recursive: true });
    } catch (err) {
      throw new StateWriteError(path.join(this.dir, 'state.json'), err);
    }
    const names: string[] = [];
    const fps: string[] = [];
    const targetCounts: number[] = [];
    const targets: string[] = [];
    const observed: [number, unknown][] = [];
    const parts: string[] = [];
    for (const [name, st] of this.tasks) {
      if (st.observed !== undefined) observed.push([names.length, st.observed]);
      names.push(name);
      fps.push(st.fp);
      parts.push(st.parts);
      let n = 0;
      for (const t of Object.keys(st.targets)) {
        targets.push(t, st.targets[t] as string);
        n++;
      }
      targetCounts.push(n);
    }
    const snap: Snapshot = {
      version: STATE_VERSION,
      tasks: { names, fps, targetCounts, targets, observed },
      files: this.files.columns(),
      tools: this.tools.toJSON(),
      modules: this.modules.toJSON(),
    };
    const file = path.join(this.dir, 'state.json');
    try {
      writeFileAtomicSync(
        file,
        `${JSON.stringify(snap).slice(0, -1)},\n${PARTS_KEY}${JSON.stringify(parts)}}\n`,
      );
    } catch (err) {
      throw new StateWriteError(file, err);
    }
    this.close();
    rmSync(this.logFile(), { force: true });
    this.dirty = false;
  }

  close(): void {
    if (this.logFd !== undefined) closeSync(this.logFd);
    this.logFd = undefined;
  }
}
