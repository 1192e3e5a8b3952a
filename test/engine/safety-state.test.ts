/**
 * State and environment safety (issue 16): the stale-lock takeover is atomic (one winner in
 * a race, zombies count as dead), temp files of dead writers are swept when the lock is taken,
 * a full disk gives a clear exit 1 and leaves no temp file, and an unwritable --json-log is a
 * usage error.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { acquireLock } from '../../buildchain/engine/lock.ts';
import { StateStore, StateWriteError } from '../../buildchain/engine/state-store.ts';
import {
  AtomicWriteError,
  isTempOf,
  sweepDeadTemps,
  writeFileAtomic,
  writeFileAtomicSync,
} from '../../buildchain/lib/fs/atomic-write.ts';
import { eventOf, tasksWith } from '../helpers/ndjson.ts';
import { hasStack, runCli } from '../helpers/run-cli.ts';
import { isCI } from '../helpers/require-tool.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { createWorkspace, REPO_ROOT, type Workspace } from '../helpers/workspace.ts';

// Fault injection for the in-process cases: with `fault.code` set, writes fail like a full disk.
const fault = vi.hoisted(() => ({ code: undefined as string | undefined }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const failing =
    <A extends unknown[], R>(f: (...a: A) => R) =>
    (...a: A): R => {
      if (fault.code !== undefined)
        throw Object.assign(new Error(`${fault.code}: injected`), { code: fault.code });
      return f(...a);
    };
  const writeSync = failing(fs.writeSync) as typeof fs.writeSync;
  return { ...fs, default: { ...fs, writeSync }, writeSync };
});

const TSX_LOADER = pathToFileURL(path.join(REPO_ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const LOCK_TS = path.join(REPO_ROOT, 'buildchain/engine/lock.ts');

/** A pid that no process has any more. */
function deadPid(): number {
  return spawnSync('true').pid;
}

/** Lists a directory (sorted), [] when missing. */
function ls(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

// A long-lived process answering `try DIR AT` (spin until time AT, then acquireLock) and
// `release`: 30 trials of 4 racing processes without paying 120 node start-ups.
const WORKER = `
import { createInterface } from 'node:readline';
import { acquireLock } from ${JSON.stringify(LOCK_TS)};
let lock;
for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, dir, at] = line.split(' ');
  if (cmd === 'try') {
    while (Date.now() < Number(at)) { /* common start */ }
    try { lock = acquireLock(dir); console.log('won'); }
    catch (e) { console.log(e.reason === 'lock-held' ? 'held' : 'error ' + e.message); }
  } else { lock?.release(); lock = undefined; console.log('released'); }
}
`;

interface Worker {
  readonly child: ChildProcessWithoutNullStreams;
  ask(line: string): Promise<string>;
}

function startWorker(script: string): Worker {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, script], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const waiting: ((l: string) => void)[] = [];
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      waiting.shift()?.(l);
    }
  });
  return {
    child,
    ask: (line) =>
      new Promise((resolve) => {
        waiting.push(resolve);
        child.stdin.write(`${line}\n`);
      }),
  };
}

describe('build lock', () => {
  let tmp: TempDir;
  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-lock-');
  });
  afterAll(() => tmp.cleanup());

  it('a race of 4 builds on a stale lock has exactly one winner, 30 times out of 30', async () => {
    const script = path.join(tmp.path, 'worker.mjs');
    writeFileSync(script, WORKER);
    const workers = Array.from({ length: 4 }, () => startWorker(script));
    try {
      // Warm up (module loading) so that the trials race on the lock, not on start-up.
      mkdirSync(path.join(tmp.path, 'warm'));
      for (const w of workers) {
        expect(await w.ask(`try ${path.join(tmp.path, 'warm')} 0`)).toBe('won');
        expect(await w.ask('release')).toBe('released');
      }
      const winners: number[] = [];
      for (let trial = 0; trial < 30; trial++) {
        const dir = path.join(tmp.path, `t${trial}`);
        mkdirSync(dir);
        writeFileSync(path.join(dir, 'lock'), `${deadPid()}\n`);
        const at = Date.now() + 40;
        const answers = await Promise.all(workers.map((w) => w.ask(`try ${dir} ${at}`)));
        const won = answers.flatMap((a, i) => (a === 'won' ? [i] : []));
        expect(answers.filter((a) => a !== 'won' && a !== 'held')).toEqual([]);
        winners.push(won.length);
        const holder = Number(readFileSync(path.join(dir, 'lock'), 'utf8'));
        if (won.length === 1) expect(holder).toBe(workers[won[0] ?? 0]?.child.pid);
        await Promise.all(workers.map((w) => w.ask('release')));
        // Nothing left behind: no private file, no takeover claim, no lock.
        expect(ls(dir)).toEqual([]);
      }
      expect(winners).toEqual(Array.from({ length: 30 }, () => 1));
    } finally {
      for (const w of workers) w.child.kill('SIGKILL');
    }
  });

  it('takes over a lock whose holder is a zombie', async () => {
    // The background sleep exits; its parent became `sleep 30`, which never reaps it: a zombie.
    const parent = spawn('sh', ['-c', 'sleep 0.2 & echo $!; exec sleep 30'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      const zombie = await new Promise<number>((resolve) =>
        parent.stdout.once('data', (d: Buffer) => {
          resolve(Number(d.toString().trim()));
        }),
      );
      const isZombie = (): boolean =>
        readFileSync(`/proc/${zombie}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') === true;
      for (let i = 0; i < 100 && !isZombie(); i++) await new Promise((r) => setTimeout(r, 20));
      expect(isZombie()).toBe(true);
      const dir = path.join(tmp.path, 'zombie');
      mkdirSync(dir);
      writeFileSync(path.join(dir, 'lock'), `${zombie}\n`);
      const lock = acquireLock(dir);
      expect(readFileSync(path.join(dir, 'lock'), 'utf8')).toBe(`${process.pid}\n`);
      lock.release();
      expect(ls(dir)).toEqual([]);
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('a takeover claim left by a killed taker does not block later builds', () => {
    const dir = path.join(tmp.path, 'claim');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'lock'), `${deadPid()}\n`);
    writeFileSync(path.join(dir, 'lock.takeover'), `${deadPid()}\n`);
    const lock = acquireLock(dir);
    expect(ls(dir)).toEqual(['lock']);
    lock.release();
    expect(ls(dir)).toEqual([]);
  });

  it('a live holder still refuses the lock (exit 2 reason lock-held)', () => {
    const dir = path.join(tmp.path, 'live');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'lock'), `${process.ppid}\n`);
    expect(() => acquireLock(dir)).toThrow(/another build is running .*pid \d+/);
    expect(ls(dir)).toEqual(['lock']);
  });
});

describe('atomic write and temp sweeping (in process)', () => {
  let tmp: TempDir;
  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-atomic-');
  });
  afterAll(() => tmp.cleanup());

  it('a write failing with ENOSPC throws a clear error naming the file and leaves no temp', async () => {
    const file = path.join(tmp.path, 'a', 'out.json');
    mkdirSync(path.dirname(file));
    writeFileAtomicSync(file, 'old');
    fault.code = 'ENOSPC';
    try {
      expect(() => {
        writeFileAtomicSync(file, 'new');
      }).toThrow(`cannot write ${file}: no space left on device (ENOSPC)`);
      expect(() => {
        writeFileAtomicSync(file, 'new');
      }).toThrow(AtomicWriteError);
    } finally {
      fault.code = undefined;
    }
    await expect(writeFileAtomic(path.join(tmp.path, 'missing', 'x'), 'x')).rejects.toThrow(
      /its directory does not exist \(ENOENT\)/,
    );
    expect(ls(path.dirname(file))).toEqual(['out.json']);
    expect(readFileSync(file, 'utf8')).toBe('old');
  });

  it('the state store reports a full disk as StateWriteError (no temp, a rerun is safe)', () => {
    const dir = path.join(tmp.path, 'state');
    const store = StateStore.open(dir);
    store.set('t', { fp: 'f', parts: '{}', targets: {} });
    store.save();
    const again = StateStore.open(dir);
    fault.code = 'EDQUOT';
    try {
      // invalidate (before a task's actions) must fail loudly: the actions must not run.
      expect(() => {
        again.invalidate('t');
      }).toThrow(StateWriteError);
      expect(() => {
        again.invalidate('t');
      }).not.toThrow(); // already gone from memory
      again.set('u', { fp: 'g', parts: '{}', targets: {} });
      again.flush(); // never throws: runs on a timer
      expect(() => {
        again.save();
      }).toThrow(/cannot write the build state .*state\.json: disk quota exceeded \(EDQUOT\)/);
    } finally {
      fault.code = undefined;
    }
    again.close();
    expect(ls(dir).filter(isTempOf)).toEqual([]);
    again.save();
    expect(StateStore.open(dir).get('t')).toBeUndefined();
    expect(StateStore.open(dir).get('u')?.fp).toBe('g');
  });

  it('sweepDeadTemps removes *.tmp-<pid>[-hex] of dead writers only, in the given directories only', () => {
    const dir = path.join(tmp.path, 'sweep');
    mkdirSync(path.join(dir, 'sub'), { recursive: true });
    const dead = deadPid();
    const names = [
      `x.iso.tmp-${dead}`,
      `y.tmp-${dead}-0a1b2c3d`,
      `z.tmp-${process.pid}`,
      `w.tmp-${process.ppid}-ff`,
      'plain.tmp',
      `v.tmp-${dead}.keep`,
    ];
    for (const n of names) writeFileSync(path.join(dir, n), 'x');
    writeFileSync(path.join(dir, 'sub', `deep.tmp-${dead}`), 'x');
    mkdirSync(path.join(dir, `adir.tmp-${dead}`));
    const removed = sweepDeadTemps([dir, path.join(tmp.path, 'missing')]);
    expect(removed.map((p) => path.basename(p)).sort()).toEqual([
      `x.iso.tmp-${dead}`,
      `y.tmp-${dead}-0a1b2c3d`,
    ]);
    expect(ls(dir)).toEqual(
      [
        `adir.tmp-${dead}`,
        'plain.tmp',
        'sub',
        `v.tmp-${dead}.keep`,
        `w.tmp-${process.ppid}-ff`,
        `z.tmp-${process.pid}`,
      ].sort(),
    );
    expect(ls(path.join(dir, 'sub'))).toEqual([`deep.tmp-${dead}`]);
  });
});

describe('a build sweeps the temp files of killed builds', () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await createWorkspace(`return [
      { name: 'iso', uptodate: [true], actions: [sh('mkdir -p _build && echo iso > _build/metalk8s.iso')], targets: ['_build/metalk8s.iso'] },
      { name: 'gen', uptodate: [true], actions: [sh('mkdir -p gen && echo g > gen/out.txt')], targets: ['gen/out.txt'] },
    ];`);
  });
  afterAll(() => ws.cleanup());

  it('removes a leaked metalk8s.iso.tmp-<pid> and state temps of dead pids, keeps the rest', async () => {
    const dead = deadPid();
    const big = Buffer.alloc(1 << 20, 1);
    ws.write('_build/.buildchain/keep', '');
    writeFileSync(ws.path(`_build/metalk8s.iso.tmp-${dead}`), big);
    writeFileSync(ws.path(`_build/SHA256SUM.tmp-${dead}-0123abcd`), 'x');
    writeFileSync(ws.path(`_build/.buildchain/state.json.tmp-${dead}-99aa`), '');
    writeFileSync(ws.path(`_build/.buildchain/lock.tmp-${dead}-1234abcd`), `${dead}\n`);
    writeFileSync(ws.path(`_build/live.tmp-${process.pid}`), 'mine');
    // Outside BUILD_ROOT (next to a target in the repository): never touched.
    ws.write(`gen/out.txt.tmp-${dead}`, 'canary');
    const r = await runCli(ws, ['iso', 'gen']);
    expect(r.code).toBe(0);
    expect(hasStack(r.stderr)).toBe(false);
    expect(ls(ws.path('_build'))).toEqual([
      '.buildchain',
      `live.tmp-${process.pid}`,
      'metalk8s.iso',
    ]);
    expect(ls(ws.path('_build/.buildchain'))).toEqual(['keep', 'state.json']);
    expect(ls(ws.path('gen'))).toEqual(['out.txt', `out.txt.tmp-${dead}`]);
    const again = await runCli(ws, ['iso', 'gen']);
    expect(again.code).toBe(0);
    expect(tasksWith(again.events, 'skip', 'up-to-date').sort()).toEqual(['gen', 'iso']);
  });
});

describe('--json-log that cannot be written', () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await createWorkspace(`return [{ name: 'iso', actions: [sh('echo ran > ran.txt')] }];`);
  });
  afterAll(() => ws.cleanup());

  it('into a missing directory: exit 2 naming the file and the fix, nothing runs', async () => {
    const log = ws.path('no/such/dir/events.json');
    const r = await runCli(ws, ['--json-log', log, 'iso']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      `error: cannot write the JSON log ${log}: its directory does not exist (ENOENT)`,
    );
    expect(r.stderr).toContain(`hint: create ${ws.path('no/such/dir')} first`);
    expect(hasStack(r.stderr)).toBe(false);
    expect(ws.exists('ran.txt')).toBe(false);
    expect(ws.exists('no')).toBe(false);
  });

  it('into /dev/full: exit 2 (no space), nothing runs', async () => {
    const r = await runCli(ws, ['--json-log', '/dev/full', 'iso']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'error: cannot write the JSON log /dev/full: no space left on device (ENOSPC)',
    );
    expect(r.stderr).toContain('hint: ');
    expect(hasStack(r.stderr)).toBe(false);
    expect(ws.exists('ran.txt')).toBe(false);
  });

  it('into a directory: exit 2; /dev/null still works', async () => {
    const r = await runCli(ws, ['--json-log', ws.dir, 'iso']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cannot write the JSON log ${ws.dir}`);
    expect(hasStack(r.stderr)).toBe(false);
    const ok = await runCli(ws, ['--json-log', '/dev/null', 'iso']);
    expect(ok.code).toBe(0);
  });
});

/** Mounts a 256 KiB tmpfs (root only); false when mounting is not permitted here. */
function mountTiny(dir: string): boolean {
  mkdirSync(dir, { recursive: true });
  return (
    spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir], { stdio: 'ignore' })
      .status === 0
  );
}

function unmount(dir: string): void {
  spawnSync('umount', [dir], { stdio: 'ignore' });
}

const canMount = ((): boolean => {
  const probe = path.join(REPO_ROOT, '_build', `mount-probe-${process.pid}`);
  const ok = mountTiny(probe);
  if (ok) unmount(probe);
  rmdirSync(probe);
  if (!ok) {
    // The in-process fault injection above covers the same code paths.
    const msg = 'cannot mount a tmpfs (not root?): the full-disk CLI cases are skipped';
    if (isCI) console.warn(msg);
    else console.warn(`skipping: ${msg}`);
  }
  return ok;
})();

describe.skipIf(!canMount)('a full disk (BUILD_ROOT on a 256 KiB tmpfs)', () => {
  let ws: Workspace;
  let root: string;
  const stateTemps = (): string[] =>
    ls(path.join(root, '.buildchain')).filter((n) => n.includes('tmp'));
  beforeAll(async () => {
    // fill fills the disk while fill.on exists; c records its state (target + marker).
    ws = await createWorkspace(`const q = (p) => JSON.stringify(p);
    return [
      { name: 'fill', actions: [sh('test ! -f fill.on || head -c 1M /dev/zero > ' + q(config.buildRoot + '/fill') + ' 2>/dev/null; true')] },
      { name: 'c', taskDeps: ['fill'], uptodate: [true], targets: [config.buildRoot + '/c'],
        actions: [sh('echo c > ' + q(config.buildRoot + '/c') + ' && echo ran >> markers/c')] },
    ];`);
    mkdirSync(ws.path('markers'));
    root = ws.path('_build');
    if (!mountTiny(root)) throw new Error('mount failed');
  });
  afterAll(async () => {
    unmount(root);
    await ws.cleanup();
  });

  it('state cannot be saved after tasks ran: exit 1 with a clear message, no temp file; next build ok', async () => {
    ws.write('fill.on', '');
    const r = await runCli(ws, ['fill']);
    expect(r.code).toBe(1);
    const err = eventOf(r.events, 'error');
    expect(err.message).toBe(
      `cannot write the build state ${root}/.buildchain/state.json: no space left on device (ENOSPC)`,
    );
    expect(String(err.hint)).toContain(`free space on the file system holding ${root}`);
    expect(eventOf(r.events, 'summary').exitCode).toBe(1);
    expect(hasStack(r.stderr)).toBe(false);
    expect(stateTemps()).toEqual([]);
    // Nothing written outside BUILD_ROOT but the workspace's own files.
    expect(ls(ws.dir)).toEqual([
      '.env.example',
      '_build',
      'bin',
      'fill.on',
      'markers',
      'tasks.mjs',
    ]);
    ws.remove('fill.on');
    spawnSync('rm', ['-f', path.join(root, 'fill')]);
    const next = await runCli(ws, ['c']);
    expect(next.code).toBe(0);
    expect(readFileSync(ws.path('markers/c'), 'utf8')).toBe('ran\n');
  });

  it('state cannot be invalidated before a task runs: the task fails (exit 1), its actions never start', async () => {
    // fill without a stored state: nothing is appended to the log before the disk is full.
    expect((await runCli(ws, ['forget', 'fill'])).code).toBe(0);
    ws.write('fill.on', '');
    const r = await runCli(ws, ['-a', 'c']);
    expect(r.code).toBe(1);
    const fail = eventOf(r.events, 'fail', 'c');
    expect(fail.message).toBe(
      `cannot write the build state ${root}/.buildchain/state.log: no space left on device (ENOSPC)`,
    );
    expect(String(fail.hint)).toContain('free space');
    expect(hasStack(r.stderr)).toBe(false);
    expect(readFileSync(ws.path('markers/c'), 'utf8')).toBe('ran\n');
    expect(stateTemps()).toEqual([]);
  });

  it('a full disk before anything runs (the lock cannot be written): exit 2, no temp file', async () => {
    spawnSync('sh', ['-c', `head -c 1M /dev/zero > ${root}/filler 2>/dev/null; true`]);
    const r = await runCli(ws, ['c']);
    expect(r.code).toBe(2);
    expect(String(eventOf(r.events, 'error').message)).toContain(
      `cannot write the build state under ${root}/.buildchain (ENOSPC)`,
    );
    expect(hasStack(r.stderr)).toBe(false);
    expect(stateTemps()).toEqual([]);
    ws.remove('fill.on');
    spawnSync('rm', ['-f', path.join(root, 'fill'), path.join(root, 'filler')]);
    const next = await runCli(ws, ['c']);
    expect(next.code).toBe(0);
    expect(tasksWith(next.events, 'skip', 'up-to-date')).toEqual(['c']);
    expect(readFileSync(ws.path('markers/c'), 'utf8')).toBe('ran\n');
  });
});
