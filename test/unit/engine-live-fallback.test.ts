/**
 * The live reporter off a terminal: it must not start listr2 and must print exactly what the
 * plain console reporter prints.
 */
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BuildEvent } from '../../buildchain/engine/events.ts';
import { consoleReporter } from '../../buildchain/engine/reporters/console.ts';
import { liveReporter } from '../../buildchain/engine/reporters/live.ts';

const EVENTS: BuildEvent[] = [
  {
    event: 'build-start',
    command: 'run',
    tasks: 3,
    workers: 1,
    dryRun: false,
    sources: 'upstream',
  },
  { event: 'skip', task: 'a', reason: 'up-to-date', reasons: [] },
  { event: 'start', task: 'b', title: 'b', reasons: ['never built'] },
  { event: 'progress', task: 'b', done: 1, total: 2 },
  { event: 'done', task: 'b', durationMs: 10 },
  { event: 'start', task: 'c', title: 'c', reasons: [] },
  {
    event: 'fail',
    task: 'c',
    reason: 'command-failed',
    message: 'false exited with 1',
    argv: ['false'],
    exitCode: 1,
    durationMs: 1,
  },
  {
    event: 'summary',
    exitCode: 1,
    interrupted: false,
    durationMs: 1200,
    failures: ['c'],
    counts: { done: 1, upToDate: 1, failed: 1, blocked: 0, wouldRun: 0, notRun: 0 },
  },
];

function collect(stream: PassThrough): () => string {
  const chunks: string[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c.toString()));
  return () => chunks.join('');
}

describe('liveReporter on a non-TTY stdout', () => {
  const isTTY = Object.getOwnPropertyDescriptor(process.stdout, 'isTTY');
  afterEach(() => {
    vi.restoreAllMocks();
    if (isTTY === undefined) Reflect.deleteProperty(process.stdout, 'isTTY');
    else Object.defineProperty(process.stdout, 'isTTY', isTTY);
  });

  it('falls back to the plain console output, byte for byte', async () => {
    Object.defineProperty(process.stdout, 'isTTY', {
      value: false,
      configurable: true,
      writable: true,
    });
    const out: string[] = [];
    const err: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation(
      (c: string | Uint8Array) => out.push(String(c)) > 0,
    );
    vi.spyOn(process.stderr, 'write').mockImplementation(
      (c: string | Uint8Array) => err.push(String(c)) > 0,
    );
    const live = liveReporter();
    for (const e of EVENTS) live.emit(e);
    await live.close();
    vi.restoreAllMocks();

    const plainOut = new PassThrough();
    const plainErr = new PassThrough();
    const readOut = collect(plainOut);
    const readErr = collect(plainErr);
    const plain = consoleReporter({ out: plainOut, err: plainErr });
    for (const e of EVENTS) plain.emit(e);
    await plain.close();

    expect(out.join('')).toBe(readOut());
    expect(err.join('')).toBe(readErr());
    expect(out.join('')).toContain('.. b\n');
    expect(err.join('')).toContain('FAILED c: command-failed');
  });
});
