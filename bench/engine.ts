/**
 * `npm run bench -- engine [--tasks N] [--workers W]`: the graph of issue 2 in a temp dir —
 * N source files of 1 KiB, N tasks each copying one source to one target, one task
 * concatenating the N targets — run cold, then again with nothing changed. Measured inside
 * this process (tsx/node startup excluded, reported separately as `startup_s`): each run
 * includes building the graph, loading and saving the state and taking the lock, as a CLI run
 * does. Also runs N/2 to show how the no-op time grows.
 *
 * Baseline in the same run: pydoit (Debian's python3-doit, `/usr/bin/doit`) on the same graph —
 * a generated dodo.py with the same N copy tasks (file_dep/targets, a Python action) and the
 * concat task — cold, then no-op, timed as whole processes (doit has no in-process measure).
 * Issue 14's targets: our engine's no-op ≤ 0.05× pydoit's, cold ≤ 0.4×.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { childrenCpuS } from './lib/cpu.ts';
import type { Reporter } from '../buildchain/engine/events.ts';
import type * as GraphModule from '../buildchain/engine/graph.ts';
import type * as LockModule from '../buildchain/engine/lock.ts';
import type * as SchedulerModule from '../buildchain/engine/scheduler.ts';
import type * as SessionModule from '../buildchain/engine/session.ts';
import type * as TaskModule from '../buildchain/engine/task.ts';
import type { TaskDefinition } from '../buildchain/engine/task.ts';

type Engine = typeof GraphModule &
  typeof LockModule &
  typeof SchedulerModule &
  typeof SessionModule &
  typeof TaskModule;

/**
 * The engine as users run it: the compiled modules the launcher loads (bin/launch.js; compiled
 * first when a source changed, before any clock starts), not the TypeScript loader's output.
 */
async function loadEngine(): Promise<Engine> {
  const launcher = path.resolve(import.meta.dirname, '../bin/launch.js');
  const { load } = (await import(pathToFileURL(launcher).href)) as {
    load: (source: string) => Promise<Record<string, unknown>>;
  };
  const parts = await Promise.all(
    ['graph', 'lock', 'scheduler', 'session', 'task'].map((m) => load(`buildchain/engine/${m}.ts`)),
  );
  return Object.assign({}, ...parts) as Engine;
}

let engine: Engine;

const silent: Reporter = { emit: () => undefined, close: () => Promise.resolve() };

/** A function action without `fn()`'s caller lookup: to measure what that lookup costs. */
const bareFn: typeof engine.fn = (label, run) => ({ kind: 'function', label, run });

function defineTasks(n: number, fn: typeof engine.fn = engine.fn): TaskDefinition[] {
  const tasks: TaskDefinition[] = [];
  const outs: string[] = [];
  for (let i = 0; i < n; i++) {
    const src = `src/${i}.txt`;
    const out = `out/${i}.txt`;
    outs.push(out);
    tasks.push({
      name: `copy:${i}`,
      fileDeps: [src],
      targets: [out],
      actions: [
        fn('copy', () => {
          copyFileSync(src, out);
          return Promise.resolve();
        }),
      ],
    });
  }
  tasks.push({
    name: 'concat',
    fileDeps: outs,
    targets: ['all.txt'],
    actions: [
      fn('concat', () => {
        writeFileSync('all.txt', Buffer.concat(outs.map((o) => readFileSync(o))));
        return Promise.resolve();
      }),
    ],
  });
  return tasks;
}

/** One build as the CLI does it; returns seconds and the counts. */
async function build(
  root: string,
  n: number,
  workers: number,
): Promise<{ s: number; cpuS: number; done: number; upToDate: number; phases: string }> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const { TaskGraph, acquireLock, openSession, runSchedule, saveSession } = engine;
  const graph = new TaskGraph(root, defineTasks(n));
  const selected = graph.select(['concat']);
  const tGraph = performance.now();
  const stateDir = path.join(root, '_build/.buildchain');
  const lock = acquireLock(stateDir);
  try {
    const session = openSession(stateDir, root, {});
    const tOpen = performance.now();
    const r = await runSchedule({
      graph,
      selected,
      workers,
      keepGoing: false,
      dryRun: false,
      alwaysMake: false,
      verbose: false,
      state: session.state,
      hasher: session.hasher,
      tools: session.tools,
      envValues: {},
      reporter: silent,
      signal: new AbortController().signal,
    });
    const tSchedule = performance.now();
    await saveSession(session);
    session.state.close();
    if (r.failures.length > 0) throw new Error(`bench build failed: ${r.failures.join(', ')}`);
    const c = process.cpuUsage(c0);
    const tEnd = performance.now();
    const ms = (a: number, b: number): string => (b - a).toFixed(0);
    return {
      s: (tEnd - t0) / 1000,
      cpuS: (c.user + c.system) / 1e6,
      done: r.counts.done,
      upToDate: r.counts.upToDate,
      phases:
        `define+graph_ms=${ms(t0, tGraph)} lock+state_open_ms=${ms(tGraph, tOpen)} ` +
        `schedule_ms=${ms(tOpen, tSchedule)} settle+save_ms=${ms(tSchedule, tEnd)}`,
    };
  } finally {
    lock.release();
  }
}

/** The graph's inputs under `root`: `src/<i>.txt` of 1 KiB each, and an empty `out/`. */
async function writeSources(root: string, n: number): Promise<void> {
  await mkdir(path.join(root, 'src'));
  await mkdir(path.join(root, 'out'));
  const kib = Buffer.alloc(1024, 'x');
  for (let i = 0; i < n; i++)
    await writeFile(
      path.join(root, `src/${i}.txt`),
      Buffer.concat([Buffer.from(`${i}\n`), kib]).subarray(0, 1024),
    );
}

async function measure(n: number, workers: number): Promise<string> {
  const root = await mkdtemp(path.join(scratchDir(), 'mk8s-bench-engine-'));
  const cwd = process.cwd();
  try {
    await writeSources(root, n);
    // Function actions use relative paths, as task code run from the project root does.
    process.chdir(root);
    const cold = await build(root, n, workers);
    const noop = await build(root, n, workers);
    if (cold.done !== n + 1 || noop.upToDate !== n + 1)
      throw new Error(
        `unexpected counts: cold ${JSON.stringify(cold)} noop ${JSON.stringify(noop)}`,
      );
    const rss = process.resourceUsage().maxRSS / 1024;
    return (
      `tasks=${n} cold_s=${cold.s.toFixed(3)} noop_s=${noop.s.toFixed(3)} peak_rss_mb=${rss.toFixed(0)}\n` +
      `# tasks=${n} cold_cpu_s=${cold.cpuS.toFixed(3)} noop_cpu_s=${noop.cpuS.toFixed(3)} (CPU time of this process)\n` +
      `# tasks=${n} cold: ${cold.phases}\n# tasks=${n} no-op: ${noop.phases}`
    );
  } finally {
    process.chdir(cwd);
    await rm(root, { recursive: true, force: true });
  }
}

const PYDOIT = '/usr/bin/doit';

/**
 * Where both engines run: a tmpfs (/dev/shm) when there is one, so that the figures measure the
 * engines and not the disk (on this machine's ext4, creating 10 000 small files costs 2.5-3 s,
 * the same for both, and hides the engines' own cost); `--disk` uses the system temp dir.
 */
let scratch: string | undefined;
function scratchDir(): string {
  return scratch ?? os.tmpdir();
}

/** The bench graph as a dodo.py: the same copies and the same concat. */
function dodoPy(n: number): string {
  return `import shutil
N = ${n}
OUTS = ['out/%d.txt' % i for i in range(N)]

def _copy(src, out):
    shutil.copyfile(src, out)

def _concat():
    with open('all.txt', 'wb') as w:
        for o in OUTS:
            with open(o, 'rb') as r:
                w.write(r.read())

def task_copy():
    for i in range(N):
        yield {'name': str(i), 'file_dep': ['src/%d.txt' % i], 'targets': [OUTS[i]],
               'actions': [(_copy, ['src/%d.txt' % i, OUTS[i]])]}

def task_concat():
    return {'file_dep': OUTS, 'targets': ['all.txt'], 'actions': [_concat]}
`;
}

/** pydoit on the same graph in a fresh temp dir: cold and no-op seconds, whole process. */
async function measurePydoit(
  n: number,
): Promise<{ coldS: number; noopS: number; coldCpuS: number; noopCpuS: number }> {
  const root = await mkdtemp(path.join(scratchDir(), 'mk8s-bench-pydoit-'));
  try {
    await writeSources(root, n);
    await writeFile(path.join(root, 'dodo.py'), dodoPy(n));
    const once = (): { s: number; cpuS: number } => {
      const t0 = performance.now();
      const c0 = childrenCpuS();
      execFileSync(PYDOIT, ['-f', 'dodo.py', '--backend', 'json', 'concat'], {
        cwd: root,
        stdio: 'ignore',
      });
      return { s: (performance.now() - t0) / 1000, cpuS: childrenCpuS() - c0 };
    };
    const cold = once();
    const noop = once();
    return { coldS: cold.s, noopS: noop.s, coldCpuS: cold.cpuS, noopCpuS: noop.cpuS };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * CPU milliseconds of defining the bench's N+1 tasks, with `fn()` and with a bare function
 * action (no stack capture): the part of a no-op that is the task code's own, medians of 5
 * (after the runs: the code is warm, as in the no-op run).
 */
function defineCost(n: number): { withFn: number; bare: number } {
  const median = (f: () => unknown): number => {
    const ms: number[] = [];
    for (let i = 0; i < 5; i++) {
      const c0 = process.cpuUsage();
      f();
      const c = process.cpuUsage(c0);
      ms.push((c.user + c.system) / 1000);
    }
    return ms.sort((a, b) => a - b)[2] ?? 0;
  };
  return { withFn: median(() => defineTasks(n)), bare: median(() => defineTasks(n, bareFn)) };
}

/** CPU milliseconds of 20 000 stat calls: tells a loaded or slow machine from a slow engine. */
async function calibrate(): Promise<number> {
  const dir = await mkdtemp(path.join(scratchDir(), 'mk8s-bench-cal-'));
  try {
    for (let i = 0; i < 100; i++) await writeFile(path.join(dir, String(i)), '');
    const t = process.cpuUsage();
    for (let i = 0; i < 20_000; i++) statSync(path.join(dir, String(i % 100)));
    const c = process.cpuUsage(t);
    return (c.user + c.system) / 1000;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function run(args: string[]): Promise<void> {
  let n = 10_000;
  let workers = 1;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--tasks') n = Number(args[++i]);
    else if (args[i] === '--workers' || args[i] === '-n') workers = Number(args[++i]);
    else if (args[i] === '--disk') scratch = os.tmpdir();
    else
      throw new Error(
        `unknown option ${args[i] ?? ''} (usage: engine [--tasks N] [--workers W] [--disk])`,
      );
  }
  if (!Number.isInteger(n) || n < 1) throw new Error('--tasks needs a positive integer');
  scratch ??= existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  engine = await loadEngine();
  process.stdout.write(`# scratch directory: ${scratch}\n`);
  process.stdout.write(
    `startup_s=${(performance.now() / 1000).toFixed(3)} (node+tsx+imports, not included below)\n`,
  );
  // The half-size run first: peak RSS then reflects the larger run.
  process.stdout.write(`${await measure(Math.max(1, Math.floor(n / 2)), workers)}\n`);
  const ours = await measure(n, workers);
  process.stdout.write(`${ours}\n`);
  const calMs = await calibrate();
  const define = defineCost(n);
  if (existsSync(PYDOIT)) {
    const py = await measurePydoit(n);
    const num = (key: string): number => Number(new RegExp(`${key}=([\\d.]+)`).exec(ours)?.[1]);
    const [cold, noop] = [num('cold_s'), num('noop_s')];
    const [coldCpu, noopCpu] = [num('cold_cpu_s'), num('noop_cpu_s')];
    process.stdout.write(
      `pydoit_tasks=${n} pydoit_cold_s=${py.coldS.toFixed(3)} pydoit_noop_s=${py.noopS.toFixed(3)} ` +
        `cold_vs_pydoit=${(cold / py.coldS).toFixed(3)} noop_vs_pydoit=${(noop / py.noopS).toFixed(3)} ` +
        `met=${cold / py.coldS <= 0.4 && noop / py.noopS <= 0.05 ? 'yes' : 'no'} (targets: cold ≤ 0.4, no-op ≤ 0.05)\n` +
        `# CPU time (a loaded machine stretches wall times): pydoit_cold_cpu_s=${py.coldCpuS.toFixed(2)} ` +
        `pydoit_noop_cpu_s=${py.noopCpuS.toFixed(2)} cold_cpu_vs_pydoit=${(coldCpu / py.coldCpuS).toFixed(3)} ` +
        `noop_cpu_vs_pydoit=${(noopCpu / py.noopCpuS).toFixed(3)}\n` +
        // 10 000 sources and 10 000 targets: the stat calls no no-op of this graph can skip.
        `# floor: ${2 * n} stat calls alone take ${((calMs * 2 * n) / 20_000).toFixed(0)} ms of CPU = ` +
        `${((calMs * 2 * n) / 20_000 / 1000 / py.noopCpuS).toFixed(3)}× pydoit's no-op CPU\n` +
        // What any no-op of this task code spends before the engine does anything: defining the
        // tasks (fn()'s caller lookup included), and the stats.
        `# floor of the task code: defining the ${n + 1} tasks ${define.withFn.toFixed(0)} ms of CPU ` +
        `(${define.bare.toFixed(0)} ms without fn()'s stack captures) + the stats = ` +
        `${((define.withFn + (calMs * 2 * n) / 20_000) / 1000 / py.noopCpuS).toFixed(3)}× pydoit's no-op CPU\n`,
    );
  } else {
    process.stdout.write(
      `# pydoit: ${PYDOIT} is missing (npm run setup installs python3-doit); no baseline\n`,
    );
  }
  process.stdout.write(
    `# calibration: 20000 stat calls took ${calMs.toFixed(0)} ms of CPU (compare runs and machines with it); load average ${os.loadavg()[0]?.toFixed(1) ?? '?'}\n`,
  );
}
