/**
 * Tasks set aside with `ignore` (doit's `ignore`): skipped by builds, with every task depending
 * on them, until `forget` drops the mark. Kept in `<stateDir>/ignored.json`: a sorted JSON
 * array of task names (absent: none), written atomically.
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { AtomicWriteError, describeErrno, writeFileAtomicSync } from '../lib/fs/atomic-write.ts';
import { UsageError } from './failures.ts';

/** The file holding the ignored task names. */
export function ignoredFile(stateDir: string): string {
  return path.join(stateDir, 'ignored.json');
}

function unreadable(file: string, why: string): UsageError {
  return new UsageError(
    'invalid-env',
    `cannot read the ignored tasks ${file}: ${why}`,
    `delete ${file} (no task is ignored then) or run \`./doit.sh forget\``,
  );
}

/** The ignored task names; empty when the file is absent. Throws `invalid-env` for a bad file. */
export function readIgnored(stateDir: string): Set<string> {
  const file = ignoredFile(stateDir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Absent (or BUILD_ROOT not a directory: taking the lock then says so): none ignored.
    if (code === 'ENOENT' || code === 'ENOTDIR') return new Set();
    throw unreadable(file, describeErrno(code, err));
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw unreadable(file, 'not JSON');
  }
  if (!Array.isArray(parsed) || !parsed.every((n) => typeof n === 'string'))
    throw unreadable(file, 'not a JSON array of task names');
  return new Set<string>(parsed);
}

/** Replaces the ignored task names (removes the file when there are none). */
export function writeIgnored(stateDir: string, names: Iterable<string>): void {
  const file = ignoredFile(stateDir);
  const sorted = [...new Set(names)].sort();
  try {
    if (sorted.length === 0) rmSync(file, { force: true });
    else writeFileAtomicSync(file, `${JSON.stringify(sorted, null, 1)}\n`, { mkdir: true });
  } catch (err) {
    const why =
      err instanceof AtomicWriteError
        ? describeErrno(err.code, err.cause)
        : describeErrno((err as NodeJS.ErrnoException).code, err);
    throw new UsageError(
      'invalid-env',
      `cannot write the ignored tasks ${file}: ${why}`,
      'BUILD_ROOT must be a writable directory with free space',
    );
  }
}
