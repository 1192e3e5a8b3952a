/**
 * Issue 16, bounded work on any input, through the real CLIs on a copy of the repository:
 * `verify` refuses what is no ISO 9660 image before any reader sees it (checkisomd5 spun
 * forever on an empty or a text file), static-registry skips a manifest.json that is a FIFO or
 * /dev/zero (it blocked, or read 13 GB), every command has a time limit (COMMAND_TIMEOUT or its
 * own), and VERSION, SOURCE_DATE_EPOCH and wildcard mistakes are usage errors (exit 2).
 * Every child is killed after {@link LIMIT_MS}: a regression fails, it never hangs the suite.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cp, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSolutionCli } from '../../buildchain/cli/solution.ts';
import { execDirect } from '../../buildchain/engine/exec/run-command.ts';
import { TaskError } from '../../buildchain/engine/task.ts';
import { layoutProblem } from '../../buildchain/tasks/images/layout-check.ts';
import { fakeTool } from '../helpers/fake-tool.ts';
import { eventOf, type JsonEvent } from '../helpers/ndjson.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { spawnCliIn, shellEnv, type CliInOptions, type CliResult } from '../helpers/run-cli.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { copyRepository, createWorkspace } from '../helpers/workspace.ts';

/** Longest any child may take; far under the test timeout. */
const LIMIT_MS = 20_000;
const STACK = /\n\s+at /;

interface LimitedRun extends CliResult {
  /** True when the child had to be killed at {@link LIMIT_MS}. */
  readonly hung: boolean;
  readonly ms: number;
}

/** A CLI run killed (SIGKILL) when it takes longer than {@link LIMIT_MS}. */
async function runLimited(
  cwd: string,
  args: readonly string[],
  opts: CliInOptions,
): Promise<LimitedRun> {
  const t0 = Date.now();
  const { child, done } = spawnCliIn(cwd, args, opts);
  let hung = false;
  const timer = setTimeout(() => {
    hung = true;
    if (child.pid !== undefined) killTree(child.pid);
  }, LIMIT_MS);
  try {
    const r = await done;
    return { ...r, hung, ms: Date.now() - t0 };
  } finally {
    clearTimeout(timer);
  }
}

/** Every path under `dir`, recursively (symlinks listed, not followed). */
function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: false }).map(String).sort();
}

/** Parent pid of every process, from /proc. */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      out.set(Number(entry), ppid);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * SIGKILLs `pid` and every descendant (collected first: a hung check such as checkisomd5
 * must not be left spinning, reparented, when a regression makes a child time out).
 */
function killTree(pid: number): void {
  const ppids = parents();
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    for (const [p, parent] of ppids) if (parent === tree[i]) tree.push(p);
  }
  for (const p of tree) {
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** True when `pid` runs (a zombie, reparented to a PID 1 that may not reap it, does not). */
function isRunning(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

function failOf(events: readonly JsonEvent[], task: string): JsonEvent {
  return eventOf(events, 'fail', task);
}

function errorOf(events: readonly JsonEvent[]): JsonEvent {
  return eventOf(events, 'error');
}

let tmp: TempDir;
let repo: string;
let canary: string;
let canaryBefore: string[];

beforeAll(async () => {
  tmp = await makeTempDir('safety-bounded-');
  repo = path.join(tmp.path, 'repo');
  await copyRepository(repo);
  canary = path.join(tmp.path, 'canary');
  await mkdir(path.join(canary, 'sub'), { recursive: true });
  await writeFile(path.join(canary, 'sub/keep.txt'), 'keep\n');
  canaryBefore = listing(canary);
});

afterAll(async () => {
  // Nothing was written or removed outside the build's own directories.
  expect(listing(canary)).toEqual(canaryBefore);
  await tmp.cleanup();
});

/** The build CLI of the copy (JSON reporter), settings from `env` only. */
function build(args: readonly string[], env: Record<string, string> = {}): Promise<LimitedRun> {
  return runLimited(repo, args, {
    env: shellEnv(env),
    main: path.join(repo, 'buildchain/cli/bin.ts'),
  });
}

describe.skipIf(missingTools('checkisomd5', 'isoinfo', 'bsdtar').length > 0)(
  'verify on what is no ISO image',
  () => {
    async function expectRefused(file: string, why: RegExp): Promise<void> {
      const r = await build(['verify', file]);
      expect(r.hung, 'verify did not finish').toBe(false);
      expect(r.ms).toBeLessThan(LIMIT_MS);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).not.toMatch(STACK);
      const fail = failOf(r.events, 'verify');
      expect(fail.reason).toBe('invalid-input');
      expect(String(fail.message)).toMatch(why);
      expect(String(fail.message)).toContain(file);
      expect(String(fail.hint)).toMatch(/ISO_VERIFY_PATH/);
    }

    it('an empty file: exit 1 at once, naming it', async () => {
      const file = path.join(tmp.path, 'empty.iso');
      await writeFile(file, '');
      await expectRefused(file, /is not an ISO 9660 image: 0 bytes, an image has at least 36864/);
    });

    it('a copy of /etc/passwd: exit 1 at once, naming it', async () => {
      const file = path.join(tmp.path, 'passwd.iso');
      await cp('/etc/passwd', file);
      await expectRefused(file, /is not an ISO 9660 image: \d+ bytes/);
    });

    it('sectors of zeros (no CD001 at sector 16): exit 1 at once', async () => {
      const file = path.join(tmp.path, 'zeros.iso');
      await writeFile(file, Buffer.alloc(64 * 2048));
      await expectRefused(file, /no primary volume descriptor \(CD001\) at sector 16/);
    });

    it('a size that is no whole number of sectors: exit 1 at once', async () => {
      const file = path.join(tmp.path, 'odd.iso');
      await writeFile(file, Buffer.alloc(64 * 2048 + 1));
      await expectRefused(file, /is not a whole number of 2048-byte sectors/);
    });

    it('a FIFO: exit 1 at once (no reader opens it)', async () => {
      const file = path.join(tmp.path, 'fifo.iso');
      execFileSync('mkfifo', [file]);
      await expectRefused(file, /is a FIFO, not a regular file/);
    });
  },
);

describe('static-registry on hostile manifest.json files', () => {
  const GOOD = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    config: {
      mediaType: 'application/vnd.docker.container.image.v1+json',
      size: 2,
      digest: `sha256:${'a'.repeat(64)}`,
    },
    layers: [],
  });

  it('skips a FIFO and a link to /dev/zero with a warning each, serves the rest, exit 0', async () => {
    const images = path.join(tmp.path, 'images');
    await mkdir(path.join(images, 'fifo/1.0'), { recursive: true });
    await mkdir(path.join(images, 'zero/1.0'), { recursive: true });
    await mkdir(path.join(images, 'good/1.0'), { recursive: true });
    execFileSync('mkfifo', [path.join(images, 'fifo/1.0/manifest.json')]);
    await symlink('/dev/zero', path.join(images, 'zero/1.0/manifest.json'));
    await writeFile(path.join(images, 'good/1.0/manifest.json'), GOOD);
    const r = await runLimited(tmp.path, [images], {
      env: shellEnv(),
      console: true,
      main: path.join(repo, 'buildchain/cli/static-registry.ts'),
    });
    expect(r.hung, 'static-registry did not finish').toBe(false);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stderr).toContain(
      'static-registry: fifo/1.0: manifest.json is a FIFO, not a regular file, skipped',
    );
    expect(r.stderr).toContain(
      'static-registry: zero/1.0: manifest.json is a device, not a regular file, skipped',
    );
    expect(r.stdout).toContain('good');
    expect(r.stdout).not.toMatch(/fifo|zero/);
  });

  it('the layout check says what a manifest.json that is a directory is', async () => {
    const dir = path.join(tmp.path, 'layout');
    await mkdir(path.join(dir, 'manifest.json'), { recursive: true });
    expect(layoutProblem(dir)).toBe('manifest.json is a directory, not a regular file');
  });
});

describe('every command has a time limit', () => {
  it('a call with its own limit: the sleeping tool and its children are killed, command-failed', async () => {
    const bin = path.join(tmp.path, 'bin');
    await mkdir(bin, { recursive: true });
    const pidFile = path.join(tmp.path, 'sleeper.pid');
    const tool = fakeTool(bin, 'sleeper', { body: `sleep 30 & echo $! > ${pidFile}; wait` });
    const t0 = Date.now();
    const err = await execDirect([tool], { timeoutMs: 500 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(Date.now() - t0).toBeLessThan(LIMIT_MS);
    expect(err).toBeInstanceOf(TaskError);
    expect((err as TaskError).reason).toBe('command-failed');
    expect((err as TaskError).message).toBe(`${tool} timed out after 0.5 s`);
    expect((err as TaskError).argv).toEqual([tool]);
    expect((err as TaskError).hint).toMatch(/own limit/);
    // The whole process group went: the tool's own child (sleep) is gone too.
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    await new Promise((r) => setTimeout(r, 300));
    expect(isRunning(pid)).toBe(false);
  });

  it('COMMAND_TIMEOUT applies to every task command: exit 1, the tool named, the setting as hint', async () => {
    const ws = await createWorkspace(`return [{ name: 'slow', actions: [cmd(['slowtool'])] }];`);
    try {
      fakeTool(ws.binDir, 'slowtool', { body: 'sleep 30' });
      const r = await runLimited(ws.dir, ['--tasks-module', ws.tasksModule, 'slow'], {
        env: shellEnv({ COMMAND_TIMEOUT: '1' }, ws.binDir),
      });
      expect(r.hung, 'the build did not stop the command').toBe(false);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).not.toMatch(STACK);
      const fail = failOf(r.events, 'slow');
      expect(fail.reason).toBe('command-failed');
      expect(fail.message).toBe('slowtool timed out after 1 s');
      expect(String(fail.hint)).toMatch(/raise COMMAND_TIMEOUT in \.env/);
    } finally {
      await ws.cleanup();
    }
  });

  it('COMMAND_TIMEOUT=abc: exit 2 naming it', async () => {
    const r = await build(['--dry-run', 'iso'], { COMMAND_TIMEOUT: 'abc' });
    expect(r.code, r.stderr).toBe(2);
    expect(errorOf(r.events)).toMatchObject({ reason: 'invalid-env' });
    expect(String(errorOf(r.events).message)).toContain(
      'COMMAND_TIMEOUT=abc is not a whole number of seconds',
    );
  });
});

describe('usage errors, not stack traces (exit 2)', () => {
  function expectUsage(r: LimitedRun, reason: string, message: RegExp): void {
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).not.toMatch(STACK);
    const e = errorOf(r.events);
    expect(e.reason).toBe(reason);
    expect(String(e.message)).toMatch(message);
    expect(String(e.message)).not.toMatch(/internal error/);
    expect(e.hint).toEqual(expect.stringMatching(/./));
  }

  it('VERSION is a directory', async () => {
    const file = path.join(repo, 'VERSION');
    await rename(file, `${file}.bak`);
    try {
      await mkdir(file);
      expectUsage(
        await build(['--dry-run', 'iso']),
        'invalid-task',
        /VERSION is a directory, not a regular file/,
      );
    } finally {
      await rm(file, { recursive: true, force: true });
      await rename(`${file}.bak`, file);
    }
  });

  it('VERSION is missing', async () => {
    const file = path.join(repo, 'VERSION');
    await rename(file, `${file}.bak`);
    try {
      expectUsage(await build(['--dry-run', 'iso']), 'invalid-task', /VERSION: no such file/);
    } finally {
      await rename(`${file}.bak`, file);
    }
  });

  it.each(['1e20', '99999999999999999999', '-5', '1.5'])(
    'SOURCE_DATE_EPOCH=%s, saying the valid range',
    async (value) => {
      expectUsage(
        await build(['--dry-run', 'iso'], { SOURCE_DATE_EPOCH: value }),
        'invalid-env',
        new RegExp(
          `SOURCE_DATE_EPOCH='${value.replace('.', '\\.')}' is not a whole number of seconds from 0 to 4294967295`,
        ),
      );
    },
  );

  it("the wildcard '[z-a]'", async () => {
    expectUsage(
      await build(['--dry-run', '[z-a]']),
      'usage',
      /invalid wildcard '\[z-a\]': the range z-a is out of order/,
    );
  });

  it('the repository as is still defines its tasks (control)', async () => {
    expect(existsSync(path.join(repo, 'VERSION'))).toBe(true);
    const r = await build(['--dry-run', 'iso']);
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('Solution inspect/verify refuse what is no ISO before isoinfo sees it', () => {
  let dir: TempDir;
  beforeAll(async () => {
    dir = await makeTempDir('mk8s-sol-bounded-');
  });
  afterAll(() => dir.cleanup());

  it.each([
    [
      'an empty file',
      'empty.iso',
      (f: string): void => {
        writeFileSync(f, '');
      },
      /is not an ISO 9660 image: 0 bytes/,
    ],
    [
      'a FIFO',
      'fifo.iso',
      (f: string): void => {
        execFileSync('mkfifo', [f]);
      },
      /is a FIFO, not a regular file/,
    ],
  ])('%s: exit 1 at once, naming it, no stack', async (_what, name, make, why) => {
    const file = path.join(dir.path, name);
    make(file);
    for (const command of ['inspect', 'verify']) {
      const err: string[] = [];
      const io = {
        out: () => undefined,
        err: (t: string) => {
          err.push(t);
        },
      };
      const timeout = new Promise<string>((resolve) => {
        setTimeout(() => {
          resolve('timed out');
        }, 10_000).unref();
      });
      const code = await Promise.race([runSolutionCli([command, file], io), timeout]);
      expect(code, command).toBe(1);
      expect(err.join('\n')).toMatch(why);
      expect(err.join('\n')).toContain(file);
      expect(err.join('\n')).not.toMatch(STACK);
    }
  });
});
