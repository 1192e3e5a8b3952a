/**
 * The runner's entry points beside runCommand (engine/exec/): bytes on stdout, a streamed
 * stdout, detached servers, and a runner bound to an abort signal. Each keeps the runner's
 * guarantees: a time limit that kills the whole process group, abort, tool-not-found.
 */
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDetached } from '../../buildchain/engine/exec/detached.ts';
import { killGroup } from '../../buildchain/engine/exec/process-group.ts';
import { execDirectWith, runCommandBytes } from '../../buildchain/engine/exec/run-command.ts';
import { startStreamingCommand } from '../../buildchain/engine/exec/stream-command.ts';
import { TaskError } from '../../buildchain/engine/task.ts';
import { fakeTool } from '../helpers/fake-tool.ts';
import { pidExists } from '../helpers/run-cli.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

let tmp: TempDir;
let bin: string;

beforeAll(async () => {
  tmp = await makeTempDir('mk8s-exec-');
  bin = path.join(tmp.path, 'bin');
  await mkdir(bin, { recursive: true });
});
afterAll(async () => {
  await tmp.cleanup();
});

async function eventually(check: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

/** Waits (up to 3 s) until a {@link sleeper} has written the pid of its `sleep` to `pidFile`. */
function pidWritten(pidFile: string): Promise<boolean> {
  return eventually(() => {
    try {
      return readFileSync(pidFile, 'utf8').trim() !== '';
    } catch {
      return false;
    }
  });
}

/** A tool that starts a background `sleep` (pid written to `pidFile`) and waits for it. */
function sleeper(name: string, pidFile: string, before = ''): string {
  return fakeTool(bin, name, { body: `${before}sleep 30 & echo $! > ${pidFile}; wait` });
}

describe('runCommandBytes', () => {
  it('keeps stdout byte for byte (NUL, 0xff, no trailing newline stripped) and stderr as text', async () => {
    const tool = fakeTool(bin, 'bytes', {
      body: String.raw`printf '\000\377\001\n\n'; echo oops >&2`,
    });
    const r = await runCommandBytes([tool], {
      cwd: tmp.path,
      signal: new AbortController().signal,
    });
    expect(r.exitCode).toBe(0);
    expect([...r.stdout]).toEqual([0x00, 0xff, 0x01, 0x0a, 0x0a]);
    expect(r.stderr).toBe('oops');
  });

  it('a custom timeout error replaces the default one; the group is killed', async () => {
    const pidFile = path.join(tmp.path, 'bytes-sleep.pid');
    const tool = sleeper('bytes-sleeper', pidFile);
    const err = await runCommandBytes([tool], {
      cwd: tmp.path,
      signal: new AbortController().signal,
      timeoutMs: 300,
      onTimeout: (ms) => new TaskError('command-failed', `reader gave up after ${ms} ms`),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as TaskError).message).toBe('reader gave up after 300 ms');
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    expect(await eventually(() => !pidExists(pid))).toBe(true);
  });
});

describe('startStreamingCommand', () => {
  it('streams stdout to the caller, stderr lines to onStderrLine and the tail', async () => {
    const tool = fakeTool(bin, 'streamer', {
      body: 'echo one >&2; printf "abc"; echo two >&2; exit 3',
    });
    const lines: string[] = [];
    const child = startStreamingCommand([tool], { onStderrLine: (l) => lines.push(l) });
    const chunks: Buffer[] = [];
    for await (const c of child.stdout) chunks.push(c as Buffer);
    const exit = await child.exited;
    child.stop();
    expect(Buffer.concat(chunks).toString()).toBe('abc');
    expect(exit).toEqual({ code: 3, signal: null, timedOut: false });
    expect(lines).toEqual(['one', 'two']);
    expect(child.stderrTail).toEqual(['one', 'two']);
  });

  it('its time limit kills the whole group and says so', async () => {
    const pidFile = path.join(tmp.path, 'stream-sleep.pid');
    const tool = sleeper('stream-sleeper', pidFile);
    const child = startStreamingCommand([tool], { timeoutMs: 300 });
    child.stdout.resume();
    const exit = await child.exited;
    expect(exit.timedOut).toBe(true);
    expect(exit.signal).toBe('SIGTERM');
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    expect(await eventually(() => !pidExists(pid))).toBe(true);
  });

  it('an abort kills it; a missing tool rejects `exited`', async () => {
    const pidFile = path.join(tmp.path, 'abort-sleep.pid');
    const ac = new AbortController();
    const child = startStreamingCommand([sleeper('abort-sleeper', pidFile)], { signal: ac.signal });
    child.stdout.resume();
    await pidWritten(pidFile);
    ac.abort();
    expect((await child.exited).signal).toBe('SIGTERM');
    const missing = startStreamingCommand([path.join(bin, 'no-such-tool')]);
    missing.stdout.resume();
    await expect(missing.exited).rejects.toThrow(/ENOENT/);
  });
});

describe('startDetached', () => {
  it('starts a group leader writing to the given fd, outliving the call until killed by pid', async () => {
    const log = path.join(tmp.path, 'detached.log');
    const fd = openSync(log, 'a');
    const proc = startDetached(['sh', '-c', 'echo started; exec sleep 30'], {
      outputFd: fd,
      env: { PATH: process.env.PATH ?? '' },
    });
    closeSync(fd);
    const pid = proc.pid ?? -1;
    expect(await eventually(() => readFileSync(log, 'utf8') === 'started\n')).toBe(true);
    expect(pidExists(pid)).toBe(true);
    killGroup(pid, 'SIGTERM');
    await proc.exited;
    expect(await eventually(() => !pidExists(pid))).toBe(true);
  });

  it('a missing binary resolves spawnError', async () => {
    const fd = openSync(path.join(tmp.path, 'missing.log'), 'a');
    const proc = startDetached([path.join(bin, 'no-such-server')], { outputFd: fd, env: {} });
    closeSync(fd);
    expect(String(await proc.spawnError)).toMatch(/ENOENT/);
  });
});

describe('execDirectWith', () => {
  it('kills its commands when the signal aborts: `aborted`', async () => {
    const pidFile = path.join(tmp.path, 'exec-sleep.pid');
    const ac = new AbortController();
    const pending = execDirectWith(ac.signal)([sleeper('exec-sleeper', pidFile)]).then(
      () => undefined,
      (e: unknown) => e,
    );
    await pidWritten(pidFile);
    ac.abort();
    const err = await pending;
    expect((err as TaskError).reason).toBe('aborted');
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    expect(await eventually(() => !pidExists(pid))).toBe(true);
  });
});
