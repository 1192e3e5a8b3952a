/**
 * One build per BUILD_ROOT: `<stateDir>/lock` holds the owner's pid. A second build fails at
 * once naming the holder; a lock left by a dead process (or a zombie) is taken over.
 *
 * Taking the lock: our pid is written under a private name, then hard-linked into place
 * (link() fails when the lock exists). Taking over a stale lock: the taker first links the
 * `lock.takeover` claim (one taker at a time), checks that `lock` is still the very file it
 * judged stale (same inode and content), then renames its own file over it: the name is never
 * vacant, so no third process can slip in, and a lock taken meanwhile is never removed.
 * A claim left by a taker that died is moved aside, re-read and removed only when it is still
 * the dead taker's.
 */
import {
  closeSync,
  fstatSync,
  linkSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { isProcessAlive, removeQuietly, tempPathFor } from '../lib/fs/atomic-write.ts';
import { UsageError } from './failures.ts';

export interface BuildLock {
  readonly file: string;
  release(): void;
}

/** What a lock (or claim) file held when it was read. */
interface LockSeen {
  readonly ino: number;
  readonly text: string;
  readonly pid: number | undefined;
}

const MAX_ATTEMPTS = 200;
const RETRY_MS = 5;

/** Reads a lock file through one descriptor (inode and content of the same file); undefined when missing. */
function readLockFile(file: string): LockSeen | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const buf = Buffer.alloc(64);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const text = buf.subarray(0, n).toString('utf8');
    const pid = /^[1-9][0-9]*\n?$/.test(text) ? Number.parseInt(text, 10) : undefined;
    return { ino: fstatSync(fd).ino, text, pid };
  } finally {
    closeSync(fd);
  }
}

function isSame(a: LockSeen, b: LockSeen): boolean {
  return a.ino === b.ino && a.text === b.text;
}

/** A lock whose holder is gone (dead, zombie, unreadable content, or this very process's pid reused). */
function isStale(seen: LockSeen): boolean {
  return seen.pid === undefined || seen.pid === process.pid || !isProcessAlive(seen.pid);
}

/** link(), false when `to` exists. */
function tryLink(from: string, to: string): boolean {
  try {
    linkSync(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Removes the claim `seen` of a dead taker, and only that one. */
function breakStaleClaim(claim: string, seen: LockSeen): void {
  const aside = tempPathFor(claim);
  try {
    renameSync(claim, aside);
  } catch {
    return; // already gone
  }
  const moved = readLockFile(aside);
  // A live taker's claim was moved instead (it replaced the stale one meanwhile): put it back.
  if (moved !== undefined && !isSame(moved, seen)) tryLink(aside, claim);
  rmSync(aside, { force: true });
}

/** Replaces the stale lock `seen` by `mine`; false when someone else got there first. */
function takeOver(file: string, mine: string, seen: LockSeen): boolean {
  const claim = `${file}.takeover`;
  if (!tryLink(mine, claim)) {
    const other = readLockFile(claim);
    if (other !== undefined && isStale(other)) breakStaleClaim(claim, other);
    return false;
  }
  try {
    const now = readLockFile(file);
    if (now === undefined) return tryLink(mine, file);
    if (!isSame(now, seen)) return false;
    renameSync(mine, file);
    return true;
  } finally {
    rmSync(claim, { force: true });
  }
}

function heldError(
  what: string,
  stateDir: string,
  file: string,
  pid: number | undefined,
): UsageError {
  return new UsageError(
    'lock-held',
    `another ${what} is running on ${path.dirname(stateDir)} (pid ${pid ?? '?'})`,
    `wait for it to finish, or stop it (kill ${pid ?? 'PID'}); the lock is ${file}`,
  );
}

function held(file: string): BuildLock {
  return {
    file,
    release() {
      if (readLockFile(file)?.pid === process.pid) rmSync(file, { force: true });
    },
  };
}

/** Takes the lock or throws `lock-held` (exit code 2). */
export function acquireLock(stateDir: string, what = 'build'): BuildLock {
  const file = path.join(stateDir, 'lock');
  const mine = tempPathFor(file);
  try {
    try {
      mkdirSync(stateDir, { recursive: true });
      writeFileSync(mine, `${process.pid}\n`, { flag: 'wx' });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new UsageError(
        'invalid-env',
        `cannot write the build state under ${stateDir} (${code}): BUILD_ROOT must be a writable directory with free space`,
        'set BUILD_ROOT in .env to a writable directory (default: _build in the repository), or free space on its file system',
      );
    }
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (tryLink(mine, file)) return held(file);
      const seen = readLockFile(file);
      if (seen === undefined) continue; // released meanwhile
      if (!isStale(seen)) throw heldError(what, stateDir, file, seen.pid);
      if (takeOver(file, mine, seen)) return held(file);
      sleepSync(RETRY_MS);
    }
    throw heldError(what, stateDir, file, readLockFile(file)?.pid);
  } finally {
    removeQuietly(mine);
  }
}
