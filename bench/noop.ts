/**
 * `npm run bench -- noop [--runs N] [--count K] [--keep]`: how long a build that has nothing to
 * do takes, as a user sees it (whole process, wall time), next to `node -e 0` measured in the
 * same rounds (the floor any Node.js command pays):
 * - `noop_iso_s`: `./doit.sh iso` after one warm build into a scratch BUILD_ROOT;
 * - `packaging_noop_s` / `packaging_noop_engine_s`: `./doit.sh packaging` on K generated specs
 *   (default 200: 402 tasks, the workspace of bench/packages.ts) after a cold build, wall time
 *   and the engine's own time (the summary event's durationMs).
 * Medians of N rounds (default 7; each round runs the three in turn, so that a load spike
 * hits them alike). Targets (issue 14): noop iso ≤ 0.35 s and ≤ 2 × node + 0.05 s; packaging
 * no-op engine time ≤ 0.1 s.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { childrenCpuS } from './lib/cpu.ts';
import { writeWorkspace } from './packages.ts';

const exec = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '..');
const DOIT = path.join(REPO, 'doit.sh');

interface Options {
  readonly runs: number;
  readonly count: number;
  readonly keep: boolean;
}

function parseArgs(args: readonly string[]): Options {
  let runs = 7;
  let count = 200;
  let keep = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--runs') runs = Number(args[++i]);
    else if (a === '--count') count = Number(args[++i]);
    else if (a === '--keep') keep = true;
    else
      throw new Error(`bench noop: unknown option ${String(a)} (use --runs N, --count K, --keep)`);
  }
  if (!Number.isInteger(runs) || runs < 5)
    throw new Error('bench noop: --runs needs an integer ≥ 5');
  if (!Number.isInteger(count) || count < 1)
    throw new Error('bench noop: --count needs a positive integer');
  return { runs, count, keep };
}

interface Summary {
  readonly exitCode: number;
  readonly counts: { readonly done: number; readonly upToDate: number };
  readonly durationMs: number;
}

/** Runs a command; returns its wall seconds, CPU seconds and stdout. */
async function timed(
  argv: readonly string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<{ s: number; cpuS: number; stdout: string }> {
  const cpu0 = childrenCpuS();
  const start = process.hrtime.bigint();
  const [file = '', ...rest] = argv;
  const { stdout } = await exec(file, rest, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    maxBuffer: 256 * 1024 * 1024,
  });
  return {
    s: Number(process.hrtime.bigint() - start) / 1e9,
    cpuS: childrenCpuS() - cpu0,
    stdout,
  };
}

function summaryOf(stdout: string): Summary {
  for (const line of stdout.trimEnd().split('\n').reverse()) {
    const ev = JSON.parse(line) as { event?: string } & Summary;
    if (ev.event === 'summary') return ev;
  }
  throw new Error('bench noop: no summary event in the build output');
}

/** One `./doit.sh --reporter json ARGS`; fails unless it succeeded and (no-op) ran nothing. */
async function doit(
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  expectNoop: boolean,
): Promise<{ s: number; cpuS: number; engineS: number; tasks: number }> {
  const r = await timed([DOIT, '--reporter', 'json', ...args], { cwd, env });
  const sum = summaryOf(r.stdout);
  if (sum.exitCode !== 0 || (expectNoop && sum.counts.done !== 0))
    throw new Error(
      `bench noop: ./doit.sh ${args.join(' ')} was not a no-op: ${JSON.stringify(sum)}`,
    );
  return { s: r.s, cpuS: r.cpuS, engineS: sum.durationMs / 1000, tasks: sum.counts.upToDate };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

export async function run(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const work = await mkdtemp(path.join(os.tmpdir(), 'mk8s-bench-noop-'));
  try {
    // The compiled tree first (what ./doit.sh would do on its first start).
    await timed([process.execPath, path.join(REPO, 'bin/compile-dist.mjs')], { cwd: REPO });
    const isoEnv = { ...process.env, BUILD_ROOT: path.join(work, 'build') };
    await doit(['iso'], REPO, isoEnv, false);
    await doit(['iso'], REPO, isoEnv, true);

    const pkgDir = path.join(work, 'packages');
    await mkdir(pkgDir);
    await writeWorkspace(pkgDir, o.count);
    // The packaging tasks alone, from the compiled tree (a .ts module would run the sources).
    const tasksModule = path.join(work, 'packaging-tasks.mjs');
    const compiled = pathToFileURL(path.join(REPO, 'dist/buildchain/tasks/packages/tasks.js')).href;
    await writeFile(
      tasksModule,
      `import { createPackagingTasks } from ${JSON.stringify(compiled)};\n` +
        'export function createTasks(config, sources) { return createPackagingTasks(config, sources); }\n',
    );
    const pkgEnv = { ...process.env, SOURCES: 'upstream', SOURCE_DATE_EPOCH: '1700000000' };
    const pkgArgs = ['--tasks-module', tasksModule, 'packaging'];
    await doit(pkgArgs, pkgDir, pkgEnv, false);
    const pkgTasks = (await doit(pkgArgs, pkgDir, pkgEnv, true)).tasks;

    const node: number[] = [];
    const iso: number[] = [];
    const pkg: number[] = [];
    const pkgEngine: number[] = [];
    const cpu = { node: [] as number[], iso: [] as number[], pkg: [] as number[] };
    for (let i = 0; i < o.runs; i++) {
      const n = await timed([process.execPath, '-e', '0'], { cwd: REPO });
      node.push(n.s);
      cpu.node.push(n.cpuS);
      const s = await doit(['iso'], REPO, isoEnv, true);
      iso.push(s.s);
      cpu.iso.push(s.cpuS);
      const p = await doit(pkgArgs, pkgDir, pkgEnv, true);
      pkg.push(p.s);
      cpu.pkg.push(p.cpuS);
      pkgEngine.push(p.engineS);
    }
    const f = (x: number): string => x.toFixed(3);
    process.stdout.write(
      `noop_iso_s=${f(median(iso))} node_s=${f(median(node))} packaging_noop_s=${f(median(pkg))} packaging_noop_engine_s=${f(median(pkgEngine))}\n`,
    );
    process.stdout.write(
      `# CPU (user+sys, medians): noop_iso_cpu_s=${f(median(cpu.iso))} node_cpu_s=${f(median(cpu.node))} packaging_noop_cpu_s=${f(median(cpu.pkg))}\n`,
    );
    process.stdout.write(
      `# medians of ${o.runs} rounds; ${o.count} specs (${pkgTasks} packaging tasks up to date); targets: noop_iso_s ≤ 0.35 and ≤ ${f(2 * median(node) + 0.05)} (2 × node_s + 0.05), packaging_noop_engine_s ≤ 0.1; load average ${os.loadavg()[0]?.toFixed(1) ?? '?'}\n`,
    );
  } finally {
    if (o.keep) process.stdout.write(`# kept ${work}\n`);
    else await rm(work, { recursive: true, force: true });
  }
}
