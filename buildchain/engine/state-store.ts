/**
 * Stored task states (fingerprints) under `<BUILD_ROOT>/.buildchain/`: a snapshot
 * (`state.json`, written to a temp name then renamed) plus an append-only log (`state.log`,
 * one JSON line per change) replayed on load and folded into the snapshot at the end of a run.
 *
 * Crash safety: `invalidate` appends a deletion line before a task's actions run (a write to
 * the page cache survives `kill -9`); successful states are appended in batches; a missing
 * entry only ever makes a task stale. A torn last log line is ignored. The snapshot holds rows
 * (see {@link Snapshot}); a damaged row is skipped (its task is stale), a snapshot of the
 * previous format (3) is read and written back in the current one.
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
import { RecordMap } from './record-map.ts';
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

/**
 * `state.json` (version 4): rows, not objects keyed by task name or path, so that loading a
 * state of 10 000 tasks and 20 000 files builds no dictionary of that many keys and no object
 * per target list (it parses ~2.5× faster, and the lookups go through Maps).
 */
interface Snapshot {
  version: typeof STATE_VERSION;
  /** `[name, fp, parts, [target, hash, target, hash, ...], observed?]` per task. */
  tasks: TaskRow[];
  /** {@link FILE_ROW} values per file: path, mtimeMs, size, ino, hash, trusted, ctimeMs|null. */
  files: (string | number | null)[];
  tools: Record<string, ToolRecord>;
  /** Import lists of code modules. */
  modules: Record<string, ModuleRecord>;
}

type TaskRow = [string, string, string, string[]] | [string, string, string, string[], unknown];

/** Values per file in {@link Snapshot.files}. */
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
 * stale), never misread; version 3 (objects) is read and written again as 4 (rows).
 */
const STATE_VERSION = 4;

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

export class StateStore {
  readonly dir: string;
  readonly tasks = new Map<string, TaskState>();
  readonly files = new Map<string, FileRecord>();
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
  ) {
    this.dir = dir;
    this.tools = new RecordMap(tools);
    this.modules = new RecordMap(modules);
  }

  /** Loads the snapshot and replays the log. A missing or unreadable snapshot means "empty". */
  static open(dir: string): StateStore {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path.join(dir, 'state.json'), 'utf8'));
    } catch {
      // No snapshot yet, or an unreadable one: every task is stale, which is safe.
    }
    const version = (parsed as { version?: unknown } | null | undefined)?.version;
    let store: StateStore;
    if (version === STATE_VERSION) store = StateStore.fromRows(dir, parsed as Snapshot);
    else if (version === 3) {
      store = StateStore.fromV3(dir, parsed as SnapshotV3);
      // Written again in the current format by the next save.
      store.dirty = true;
    } else store = new StateStore(dir);
    store.replay();
    return store;
  }

  private static fromRows(dir: string, snap: Snapshot): StateStore {
    const store = new StateStore(dir, recordOf(snap.tools), recordOf(snap.modules));
    const tasks: unknown = snap.tasks;
    if (Array.isArray(tasks)) {
      for (const row of tasks as unknown[]) {
        if (!Array.isArray(row) || !isString(row[0])) continue;
        const state = taskState(row[1], row[2], row[3]);
        if (state === undefined) continue;
        store.tasks.set(row[0], row.length > 4 ? { ...state, observed: row[4] } : state);
      }
    }
    const files: unknown = snap.files;
    // The file records are a cache: a damaged list is dropped whole (the files are hashed again).
    if (Array.isArray(files) && files.length % FILE_ROW === 0) {
      const f = files as unknown[];
      for (let i = 0; i < f.length; i += FILE_ROW) {
        const p = f[i];
        const rec = fileRecord(f[i + 1], f[i + 2], f[i + 3], f[i + 4], f[i + 5], f[i + 6]);
        if (isString(p) && rec !== undefined) store.files.set(p, rec);
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
      store.tasks.set(name, 'observed' in s ? { ...state, observed: s.observed } : state);
    }
    for (const [p, r] of Object.entries(recordOf<unknown>(snap.files))) {
      if (!Array.isArray(r)) continue;
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
      if ('del' in entry) this.tasks.delete(entry.del);
      else if (typeof entry.state.parts === 'string') this.tasks.set(entry.set, entry.state);
      else this.tasks.delete(entry.set); // an older format: forget, never misread
    }
  }

  get(name: string): TaskState | undefined {
    return this.tasks.get(name);
  }

  /** Removes a task's state durably before its actions run. */
  invalidate(name: string): void {
    if (!this.tasks.has(name)) return;
    this.tasks.delete(name);
    this.pending = this.pending.filter((l) => !l.startsWith(`{"set":${JSON.stringify(name)},`));
    this.append(`${JSON.stringify({ del: name })}\n`);
  }

  /** Records a successful run (appended to the log in batches). */
  set(name: string, state: TaskState): void {
    this.tasks.set(name, state);
    this.pending.push(`${JSON.stringify({ set: name, state })}\n`);
    this.dirty = true;
    if (this.pending.length >= FLUSH_EVERY) this.flush();
  }

  /** Forgets tasks (all when `names` is undefined). */
  forget(names?: readonly string[]): void {
    if (names === undefined) {
      this.tasks.clear();
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
    const tasks: TaskRow[] = [];
    for (const [name, st] of this.tasks) {
      const targets: string[] = [];
      for (const t of Object.keys(st.targets)) targets.push(t, st.targets[t] as string);
      tasks.push(
        st.observed === undefined
          ? [name, st.fp, st.parts, targets]
          : [name, st.fp, st.parts, targets, st.observed],
      );
    }
    const files: (string | number | null)[] = [];
    for (const [p, r] of this.files) files.push(p, r[0], r[1], r[2], r[3], r[4], r[5] ?? null);
    const snap: Snapshot = {
      version: STATE_VERSION,
      tasks,
      files,
      tools: this.tools.toJSON(),
      modules: this.modules.toJSON(),
    };
    const file = path.join(this.dir, 'state.json');
    try {
      writeFileAtomicSync(file, JSON.stringify(snap));
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
