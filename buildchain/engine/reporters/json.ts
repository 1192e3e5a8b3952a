/**
 * JSON reporter: one event per line (NDJSON), each with `ts` (ms since the epoch). Every
 * `error` and `fail` event carries its `problem` (lib/problem.ts), whoever emitted it.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import path from 'node:path';
import { describeErrno } from '../../lib/fs/atomic-write.ts';
import { withProblem, type BuildEvent, type Reporter } from '../events.ts';
import { UsageError } from '../failures.ts';
import { isBulkEvent, LineBatch } from './line-batch.ts';

/** Writes events to a stream (stdout) as JSON lines. */
export function jsonStreamReporter(out: NodeJS.WritableStream = process.stdout): Reporter {
  const lines = new LineBatch(out);
  return {
    emit(event: BuildEvent) {
      const line = `${JSON.stringify({ ...withProblem(event), ts: Date.now() })}\n`;
      if (isBulkEvent(event)) lines.later(line);
      else lines.now(line);
    },
    close: () => {
      lines.flush();
      return Promise.resolve();
    },
  };
}

function logFileError(file: string, err: unknown): UsageError {
  const code = (err as NodeJS.ErrnoException).code;
  const fix =
    code === 'ENOENT'
      ? `create ${path.dirname(path.resolve(file))} first, or`
      : code === 'EISDIR'
        ? 'it is a directory:'
        : 'it cannot be written:';
  return new UsageError(
    'usage',
    `cannot write the JSON log ${file}: ${describeErrno(code, err)}`,
    `${fix} give --json-log a file in a writable directory with free space`,
  );
}

/**
 * Writes events to a file (`--json-log FILE`), synchronously so that the file is complete
 * even when the build is interrupted. Throws a UsageError (exit 2) naming the file when it
 * cannot be opened or written (missing directory, /dev/full, ...). A write failing later (a
 * disk filling up during the build) stops the log with one warning on stderr; the build goes on.
 */
export function jsonFileReporter(
  file: string,
  warn: (line: string) => void = (l) => process.stderr.write(l),
): Reporter {
  let fd: number;
  try {
    fd = openSync(file, 'w');
  } catch (err) {
    throw logFileError(file, err);
  }
  try {
    // An empty write costs nothing on a file, a pipe or /dev/null, and fails on /dev/full.
    writeSync(fd, Buffer.alloc(0));
  } catch (err) {
    closeSync(fd);
    throw logFileError(file, err);
  }
  let open = true;
  return {
    emit(event: BuildEvent) {
      if (!open) return;
      try {
        writeSync(fd, `${JSON.stringify({ ...withProblem(event), ts: Date.now() })}\n`);
      } catch (err) {
        open = false;
        closeSync(fd);
        warn(`warning: ${logFileError(file, err).message}; the JSON log stops here\n`);
      }
    },
    close() {
      if (open) closeSync(fd);
      open = false;
      return Promise.resolve();
    },
  };
}
