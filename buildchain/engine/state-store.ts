/**
 * Stored task states (fingerprints) under `<BUILD_ROOT>/.buildchain/`: a snapshot
 * (`state.json`, written to a temp name then renamed) plus an append-only log (`state.log`,
 * one JSON line per change) replayed on load and folded into the snapshot at the end of a run.
 *
 * Crash safety: `invalidate` appends a deletion line before a task's actions run (a write to
 * the page cache survives `kill -9`); successful states are appended in batches; a missing
 * entry only ever makes a task stale. A torn last log line is ignored.
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

interface Snapshot {
  version: typeof STATE_VERSION;
  tasks: Record<string, TaskState>;
  files: Record<string, FileRecord>;
  tools: Record<string, ToolRecord>;
  /** Import lists of code modules (absent in states written before they were cached). */
  modules?: Record<string, ModuleRecord>;
}

type LogLine = { del: string } | { set: string; state: TaskState };

const FLUSH_EVERY = 500;
/** Bumped when the format changes: an older state is ignored (every task is stale), never misread. */
const STATE_VERSION = 3;

export class StateStore {
  readonly dir: string;
  readonly tasks: RecordMap<TaskState>;
  readonly files: RecordMap<FileRecord>;
  readonly tools: RecordMap<ToolRecord>;
  readonly modules: RecordMap<ModuleRecord>;
  private logFd: number | undefined;
  private pending: string[] = [];
  private dirty = false;
  /** A log write failed midway: the next line must start on a new line (the torn one is skipped on replay). */
  private torn = false;

  private constructor(dir: string, snap: Snapshot) {
    this.dir = dir;
    this.tasks = new RecordMap(snap.tasks);
    this.files = new RecordMap(snap.files);
    this.tools = new RecordMap(snap.tools);
    this.modules = new RecordMap(snap.modules ?? {});
  }

  /** Loads the snapshot and replays the log. A missing or unreadable snapshot means "empty". */
  static open(dir: string): StateStore {
    let snap: Snapshot = { version: STATE_VERSION, tasks: {}, files: {}, tools: {} };
    try {
      const parsed = JSON.parse(
        readFileSync(path.join(dir, 'state.json'), 'utf8'),
      ) as Partial<Snapshot>;
      if (parsed.version === STATE_VERSION) snap = parsed as Snapshot;
    } catch {
      // No snapshot yet, or an unreadable one: every task is stale, which is safe.
    }
    const store = new StateStore(dir, snap);
    store.replay();
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
    const snap: Snapshot = {
      version: STATE_VERSION,
      tasks: this.tasks.toJSON(),
      files: this.files.toJSON(),
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
