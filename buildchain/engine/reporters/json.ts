/** JSON reporter: one event per line (NDJSON), each with `ts` (ms since the epoch). */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { BuildEvent, Reporter } from '../events.ts';

/** Writes events to a stream (stdout) as JSON lines. */
export function jsonStreamReporter(out: NodeJS.WritableStream = process.stdout): Reporter {
  return {
    emit(event: BuildEvent) {
      out.write(`${JSON.stringify({ ...event, ts: Date.now() })}\n`);
    },
    close: () => Promise.resolve(),
  };
}

/**
 * Writes events to a file (`--json-log FILE`), synchronously so that the file is complete
 * even when the build is interrupted.
 */
export function jsonFileReporter(file: string): Reporter {
  const fd = openSync(file, 'w');
  let open = true;
  return {
    emit(event: BuildEvent) {
      if (open) writeSync(fd, `${JSON.stringify({ ...event, ts: Date.now() })}\n`);
    },
    close() {
      if (open) closeSync(fd);
      open = false;
      return Promise.resolve();
    },
  };
}
