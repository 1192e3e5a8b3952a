/**
 * `npm run bench -- release [--keep]`: the build at the size of a MetalK8s 2.4 release
 * (STAND_IN_SCALE=release: the embedded mirror's stand-ins take 2.4's image layer sizes and RPM
 * counts and sizes, see buildchain/config/stand-in-scale.ts), in a temp copy of the repository:
 *
 * - cold `build -n 2 iso` (the mirror's release-scale content generated too), no-op, one Salt
 *   file changed, one local image changed (a file of its build context);
 * - peak RSS of the whole process tree of each build (sampled from /proc every 100 ms);
 * - disk use of `_build` (hard links counted once) without the ISO file itself and without the
 *   embedded mirror (it stands in for the registries and repos of the internet), vs the ISO size;
 * - the ISO step (the `_iso_build` and `_iso_digest` tasks of the Salt-change build) vs `cat` of
 *   the same bytes into a file, in the same run.
 *
 * Targets: peak RSS < 300 MB; `_build` <= 1.3x the ISO; one Salt file changed <= ISO step + 1 s.
 * Ends with `iso_bytes=… cold_s=… noop_s=… salt_change_s=… image_change_s=… peak_rss_mb=…
 * build_dir_bytes=… iso_step_s=… cat_s=…`. Heavy (GBs of disk, minutes): it runs under `nice`.
 */
import { execFile, spawn } from 'node:child_process';
import { appendFile, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { copyRepository } from '../test/helpers/workspace.ts';

const execp = promisify(execFile);

interface BuildRun {
  readonly seconds: number;
  readonly peakRssMb: number;
  /** The biggest processes at the peak (`name:MB`). */
  readonly peakTop: string;
  /** durationMs of each task that ran, from the JSON events. */
  readonly durations: ReadonlyMap<string, number>;
}

/** RSS (kB) of `pid` and all its descendants, from /proc, with the biggest of them. */
async function treeRssKb(root: number): Promise<{ kb: number; top: string }> {
  const children = new Map<number, number[]>();
  const rss = new Map<number, number>();
  const names = new Map<number, string>();
  for (const entry of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = await readFile(`/proc/${entry}/status`, 'utf8');
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
      const kb = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      const pid = Number(entry);
      rss.set(pid, kb);
      names.set(pid, /^Name:\s+(\S+)/m.exec(status)?.[1] ?? '?');
      children.set(ppid, [...(children.get(ppid) ?? []), pid]);
    } catch {
      // the process ended meanwhile
    }
  }
  let total = 0;
  const members: [string, number][] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop() ?? 0;
    total += rss.get(pid) ?? 0;
    members.push([names.get(pid) ?? '?', rss.get(pid) ?? 0]);
    stack.push(...(children.get(pid) ?? []));
  }
  const top = members
    .sort((a, b) => b[1] - a[1])
    .slice(0, 5)
    .map(([n, kb]) => `${n}:${(kb / 1024).toFixed(0)}`)
    .join(' ');
  return { kb: total, top };
}

/** One build in `repo` (its own CLI, JSON events), timed, with the tree's peak RSS. */
async function build(repo: string, env: NodeJS.ProcessEnv, args: string[]): Promise<BuildRun> {
  const start = process.hrtime.bigint();
  // The launcher users run (./doit.sh, npm run build): compiled dist/, no TypeScript loader.
  const child = spawn(
    'nice',
    ['-n', '10', process.execPath, 'bin/buildchain.js', '--reporter', 'json', ...args],
    { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  let peak = 0;
  let peakTop = '';
  const state = { sampling: true };
  const sampler = (async () => {
    while (state.sampling) {
      if (child.pid !== undefined) {
        const now = await treeRssKb(child.pid);
        if (now.kb > peak) [peak, peakTop] = [now.kb, now.top];
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  state.sampling = false;
  await sampler;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (code !== 0)
    throw new Error(
      `build ${args.join(' ')} failed (exit ${String(code)}):\n${err}\n${out.slice(-4000)}`,
    );
  const durations = new Map<string, number>();
  for (const line of out.split('\n')) {
    try {
      const e = JSON.parse(line) as { event?: string; task?: string; durationMs?: number };
      if (e.event === 'done' && e.task !== undefined) durations.set(e.task, e.durationMs ?? 0);
    } catch {
      // not an event
    }
  }
  return { seconds, peakRssMb: peak / 1024, peakTop, durations };
}

/** `du -sb` of `_build` without the ISO file and the embedded mirror (hard links once). */
async function buildDirBytes(buildRoot: string, iso: string): Promise<number> {
  const { stdout } = await execp(
    'du',
    ['-sb', `--exclude=./${path.basename(iso)}`, '--exclude=./mirror', '.'],
    { cwd: buildRoot },
  );
  return Number(stdout.split('\t')[0]);
}

async function timed(f: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

export async function run(args: string[]): Promise<void> {
  const keep = args.includes('--keep');
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'mk8s-bench-release-'));
  try {
    const repo = path.join(tmp, 'repo');
    await copyRepository(repo);
    // dist/ compiled before the clock starts, as `npm ci` (prepare) does on a fresh clone.
    await execp(process.execPath, ['bin/compile-dist.mjs'], { cwd: repo });
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      SOURCE_DATE_EPOCH: '1700000000',
      STAND_IN_SCALE: 'release',
    };
    const cold = await build(repo, env, ['-n', '2', 'iso']);
    process.stdout.write(
      `# cold: ${cold.seconds.toFixed(1)} s, peak RSS ${cold.peakRssMb.toFixed(0)} MB (${cold.peakTop})\n`,
    );
    const noop = await build(repo, env, ['-n', '2', 'iso']);
    await appendFile(path.join(repo, 'salt/metalk8s/repo/init.sls'), '# bench: changed\n');
    const salt = await build(repo, env, ['-n', '2', 'iso']);
    await appendFile(path.join(repo, 'images/keepalived/entrypoint.sh'), '# bench: changed\n');
    const image = await build(repo, env, ['-n', '2', 'iso']);
    const buildRoot = path.join(repo, '_build');
    const iso = path.join(buildRoot, 'metalk8s.iso');
    const isoBytes = (await stat(iso)).size;
    const isoStep =
      ((salt.durations.get('_iso_build') ?? NaN) + (salt.durations.get('_iso_digest') ?? 0)) / 1000;
    const copy = path.join(tmp, 'cat.out');
    const cat = await timed(() => execp('sh', ['-c', 'cat "$1" > "$2"', 'sh', iso, copy]));
    await rm(copy, { force: true });
    const dirBytes = await buildDirBytes(buildRoot, iso);
    const all = Number((await execp('du', ['-sb', '.'], { cwd: buildRoot })).stdout.split('\t')[0]);
    const peak = Math.max(cold.peakRssMb, noop.peakRssMb, salt.peakRssMb, image.peakRssMb);
    process.stdout.write(
      `# peak RSS (MB): cold ${cold.peakRssMb.toFixed(0)}, no-op ${noop.peakRssMb.toFixed(0)}, salt ${salt.peakRssMb.toFixed(0)} (${salt.peakTop}), image ${image.peakRssMb.toFixed(0)}\n` +
        `# _build: ${String(dirBytes)} bytes without the ISO and the mirror = ${(dirBytes / isoBytes).toFixed(2)}x the ISO; ${String(all)} bytes in all\n` +
        `# targets: peak_rss_mb < 300, build_dir_bytes <= 1.3 x iso_bytes, salt_change_s <= iso_step_s + 1\n`,
    );
    process.stdout.write(
      `iso_bytes=${String(isoBytes)} cold_s=${cold.seconds.toFixed(2)} noop_s=${noop.seconds.toFixed(2)} ` +
        `salt_change_s=${salt.seconds.toFixed(2)} image_change_s=${image.seconds.toFixed(2)} ` +
        `peak_rss_mb=${peak.toFixed(0)} build_dir_bytes=${String(dirBytes)} ` +
        `iso_step_s=${isoStep.toFixed(2)} cat_s=${cat.toFixed(2)}\n`,
    );
  } finally {
    if (keep) process.stdout.write(`# kept ${tmp}\n`);
    else await rm(tmp, { recursive: true, force: true });
  }
}
