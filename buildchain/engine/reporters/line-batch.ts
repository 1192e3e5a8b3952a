/**
 * Output lines of a reporter, with the bulk ones batched: a no-op build reports hundreds of
 * up-to-date tasks in one synchronous burst, and one write (a syscall on a pipe) per line was
 * a tenth of the engine's no-op time. {@link LineBatch.later} keeps a line until the burst
 * ends (the next turn of the event loop), a write of another line, or the process's exit;
 * {@link LineBatch.now} writes what was kept, then its line, so that the order never changes.
 */
import type { BuildEvent } from '../events.ts';

/** Events of the bulk of a no-op build (up-to-date tasks and groups): batched. */
export function isBulkEvent(event: BuildEvent): boolean {
  return event.event === 'skip' && (event.reason === 'up-to-date' || event.reason === 'no-actions');
}

/** Lines kept before they are written anyway (64 KiB, a pipe's buffer). */
const MAX_KEPT_CHARS = 64 * 1024;

export class LineBatch {
  private readonly out: NodeJS.WritableStream;
  private kept: string[] = [];
  private keptChars = 0;
  private scheduled: NodeJS.Immediate | undefined;
  private readonly onExit = (): void => {
    this.flush();
  };

  constructor(out: NodeJS.WritableStream) {
    this.out = out;
  }

  /** Writes `text` after the kept lines, at once. */
  now(text: string, to: NodeJS.WritableStream = this.out): void {
    this.flush();
    to.write(text);
  }

  /** Keeps `text` to write it with the rest of the burst. */
  later(text: string): void {
    this.kept.push(text);
    this.keptChars += text.length;
    if (this.keptChars >= MAX_KEPT_CHARS) {
      this.flush();
      return;
    }
    if (this.scheduled === undefined) {
      this.scheduled = setImmediate(() => {
        this.flush();
      });
      // An interrupted build (process.exit) still prints what it reported.
      process.once('exit', this.onExit);
    }
  }

  /** Writes the kept lines (one write). */
  flush(): void {
    if (this.scheduled !== undefined) {
      clearImmediate(this.scheduled);
      this.scheduled = undefined;
      process.removeListener('exit', this.onExit);
    }
    if (this.kept.length === 0) return;
    const text = this.kept.join('');
    this.kept = [];
    this.keptChars = 0;
    this.out.write(text);
  }
}
