/**
 * The one atomic file write: the data goes to `<file>.tmp-<pid>-<hex>` in the same directory,
 * then is renamed over `file`. A failure (disk full included) removes the temp file and throws
 * an {@link AtomicWriteError} naming the file; a crash (kill -9) leaves a temp file whose name
 * carries the dead writer's pid, which {@link sweepDeadTemps} removes later.
 *
 * Depends on Node only, so that every layer (the engine's state store too) can use it.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
  type Dirent,
} from 'node:fs';
import { chmod, copyFile, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { listDirSync } from './walk.ts';

/** Options for {@link writeFileAtomic} and {@link writeFileAtomicSync}. */
export interface AtomicWriteOptions {
  /** Permission bits of the file, applied whatever the umask (default 0o644). */
  readonly mode?: number;
  /** fsync the data before the rename (default false: a crash then may leave the old file). */
  readonly fsync?: boolean;
  /** Create the file's missing parent directories first (default false). */
  readonly mkdir?: boolean;
}

/** Errno codes meaning "this filesystem cannot take the write" (not a bug of ours). */
const NO_ROOM_CODES = new Set(['ENOSPC', 'EDQUOT', 'EROFS', 'EFBIG']);

/** A failed atomic write: `file` was left as it was and no temp file remains. */
export class AtomicWriteError extends Error {
  /** The file that was being written. */
  readonly file: string;
  /** The errno code (`ENOSPC`, `EACCES`, ...) when the system gave one. */
  readonly code: string | undefined;

  constructor(file: string, cause: unknown) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code;
    super(`cannot write ${file}: ${describeErrno(code, cause)}`, { cause });
    this.name = 'AtomicWriteError';
    this.file = file;
    this.code = code;
  }
}

/** True for errno codes meaning the filesystem is full, over quota or read-only. */
export function isNoRoomCode(code: string | undefined): boolean {
  return code !== undefined && NO_ROOM_CODES.has(code);
}

/** A short human text for an errno code (`no space left on device (ENOSPC)`). */
export function describeErrno(code: string | undefined, cause?: unknown): string {
  switch (code) {
    case 'ENOSPC':
      return 'no space left on device (ENOSPC)';
    case 'EDQUOT':
      return 'disk quota exceeded (EDQUOT)';
    case 'EROFS':
      return 'read-only file system (EROFS)';
    case 'EFBIG':
      return 'file too large for the file system (EFBIG)';
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${code})`;
    case 'ENOENT':
      return 'its directory does not exist (ENOENT)';
    default:
      return code ?? (cause instanceof Error ? cause.message : String(cause));
  }
}

/** Removes a file if it is there; never throws (a cleanup must not hide the error it follows). */
export function removeQuietly(file: string): void {
  try {
    rmSync(file, { force: true });
  } catch {
    // e.g. ENOTDIR: the file cannot exist either
  }
}

async function removeQuietlyAsync(file: string): Promise<void> {
  await rm(file, { force: true }).catch(() => undefined);
}

/** A fresh temp name for `file`, in its directory: `<file>.tmp-<pid>-<8 hex>`. */
export function tempPathFor(file: string): string {
  return `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Writes `data` to `file` atomically (see the module comment). */
export function writeFileAtomicSync(
  file: string,
  data: string | Uint8Array,
  opts: AtomicWriteOptions = {},
): void {
  const tmp = tempPathFor(file);
  try {
    if (opts.mkdir === true) mkdirSync(path.dirname(file), { recursive: true });
    const fd = openSync(tmp, 'wx', opts.mode ?? 0o644);
    try {
      fchmodSync(fd, opts.mode ?? 0o644); // open()'s mode is filtered by the umask
      const buf = typeof data === 'string' ? Buffer.from(data) : data;
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
      if (opts.fsync === true) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    removeQuietly(tmp);
    throw new AtomicWriteError(file, err);
  }
}

/** Writes `data` to `file` atomically (see the module comment). */
export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const tmp = tempPathFor(file);
  try {
    if (opts.mkdir === true) await mkdir(path.dirname(file), { recursive: true });
    const fh = await open(tmp, 'wx', opts.mode ?? 0o644);
    try {
      await fh.chmod(opts.mode ?? 0o644); // open()'s mode is filtered by the umask
      await fh.writeFile(data);
      if (opts.fsync === true) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await removeQuietlyAsync(tmp);
    throw new AtomicWriteError(file, err);
  }
}

/**
 * Copies `src` to `dest` atomically (same temp naming and cleanup as {@link writeFileAtomic}).
 * The copy gets `opts.mode`, else the permission bits of `src`, whatever the umask.
 */
export async function copyFileAtomic(
  src: string,
  dest: string,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  await produceFileAtomic(
    dest,
    async (tmp) => {
      await copyFile(src, tmp, constants.COPYFILE_EXCL);
      await chmod(tmp, opts.mode ?? (await stat(src)).mode & 0o777);
    },
    { ...opts, mode: undefined },
  );
}

/**
 * Makes `file` through a temp path: `produce(tmp)` writes the temp (a tool, a stream, a copy),
 * then the temp gets `opts.mode` (when given) and is renamed over `file`. On any failure the
 * temp is removed and the error is rethrown as it is (a tool's TaskError stays one).
 */
export async function produceFileAtomic(
  file: string,
  produce: (tmp: string) => Promise<void>,
  opts: AtomicWriteOptions = {},
): Promise<void> {
  const tmp = tempPathFor(file);
  try {
    if (opts.mkdir === true) await mkdir(path.dirname(file), { recursive: true });
    await produce(tmp);
    if (opts.mode !== undefined) await chmod(tmp, opts.mode);
    await rename(tmp, file);
  } catch (err) {
    await removeQuietlyAsync(tmp);
    throw err;
  }
}

/** Permission bits of `file` (0644 when it cannot be stat'ed). */
export async function modeOf(file: string): Promise<number> {
  return stat(file).then(
    (s) => s.mode & 0o777,
    () => 0o644,
  );
}

/** `<name>.tmp-<pid>` or `<name>.tmp-<pid>-<hex>`: the pid of the writer. */
const TEMP_NAME = /^.+\.tmp-([1-9][0-9]{0,9})(?:-[0-9a-f]{1,32})?$/;

/** The writer's pid when `name` (a base name) is a temp file name, else undefined. */
export function tempWriterPid(name: string): number | undefined {
  const m = TEMP_NAME.exec(name);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

/** True when `name` (a base name) is a temp file name of an atomic writer (`*.tmp-<pid>[-hex]`). */
export function isTempOf(name: string): boolean {
  return tempWriterPid(name) !== undefined;
}

/**
 * True while process `pid` exists and is not a zombie (a zombie has exited: it holds no files
 * and no locks, it only waits for its parent to reap it).
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return true; // no procfs (or it just exited): trust kill(0)
  }
  // `pid (comm) S ...`: the command may hold spaces and parentheses, the state follows the last ')'.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

/**
 * Removes the temp files (`*.tmp-<pid>[-hex]`, regular files only) of dead writers directly in
 * each of `dirs` (no recursion; missing directories are skipped). Returns the removed paths.
 * Temps of live processes (this one included) are kept.
 */
export function sweepDeadTemps(dirs: Iterable<string>): string[] {
  const removed: string[] = [];
  for (const dir of new Set(dirs)) {
    let entries: readonly Dirent[];
    try {
      // The run's checks read these directories again: listed once while unchanged.
      entries = listDirSync(dir);
    } catch {
      continue;
    }
    for (const { name } of entries) {
      const pid = tempWriterPid(name);
      if (pid === undefined || pid === process.pid || isProcessAlive(pid)) continue;
      const p = path.join(dir, name);
      try {
        if (!lstatSync(p).isFile()) continue;
        rmSync(p, { force: true });
        removed.push(p);
      } catch {
        // Gone meanwhile, or not ours to remove: a leftover is harmless.
      }
    }
  }
  return removed;
}
