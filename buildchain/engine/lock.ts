/**
 * One build per BUILD_ROOT: `<stateDir>/lock` holds the owner's pid. A second build fails at
 * once naming the holder; a lock left by a dead process is taken over.
 */
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from './failures.ts';

export interface BuildLock {
  readonly file: string;
  release(): void;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
    return Number.isFinite(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Takes the lock or throws `lock-held` (exit code 2). */
export function acquireLock(stateDir: string, what = 'build'): BuildLock {
  const file = path.join(stateDir, 'lock');
  // Write our pid under a private name, then hard-link it into place: link() fails if the
  // lock exists, so two builds can never both believe they hold it.
  const mine = `${file}.${process.pid}`;
  try {
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(mine, `${process.pid}\n`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new UsageError(
      'invalid-env',
      `cannot write the build state under ${stateDir} (${code}): BUILD_ROOT must be a writable directory`,
      'set BUILD_ROOT in .env to a writable directory (default: _build in the repository)',
    );
  }
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(mine, file);
        return {
          file,
          release() {
            if (readHolder(file) === process.pid) rmSync(file, { force: true });
          },
        };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = readHolder(file);
      if (holder !== undefined && holder !== process.pid && isAlive(holder)) {
        throw new UsageError(
          'lock-held',
          `another ${what} is running on ${path.dirname(stateDir)} (pid ${holder})`,
          `wait for it to finish, or stop it (kill ${holder}); the lock is ${file}`,
        );
      }
      // Stale lock (dead holder, or unreadable): take it over.
      rmSync(file, { force: true });
    }
    throw new UsageError('lock-held', `could not take the lock ${file}`);
  } finally {
    rmSync(mine, { force: true });
  }
}
