/**
 * `npm run bench -- cache [--workers N] [--scale small|release] [--keep]`
 *
 * Two CI runners sharing a build cache on a local distribution registry (Debian
 * `docker-registry`, basic auth with a bcrypt htpasswd, credentials in a containers auth
 * file), in the same run:
 * - runner A: a fresh copy of this repository (working tree, no `_build`), empty cache,
 *   `BUILD_CACHE_MODE=readwrite`, cold `build -n N iso`;
 * - runner B: another fresh copy in another directory, empty `_build`, `BUILD_CACHE_MODE=read`,
 *   the same build.
 * The upstream both runners pull from is the embedded mirror's stand-in content, seeded once
 * beforehand in a third copy and copied into each runner's `_build/mirror` (it stands for the
 * internet: not part of either runner's work; re-checking it costs each runner ~1 s).
 *
 * Prints each runner's time and the cache counters of its `cache-stats` event, whether both
 * ISOs are identical, each runner's CPU time (a `#` line: what a loaded machine stretches less),
 * the embedded mirror's servers each runner started (a `#` line),
 * and ends with one line
 * `runner_a_s=… runner_b_s=… ratio=… upstream_bytes_a=… upstream_bytes_b=… cache_bytes_b=…`
 * (upstream bytes: image blobs the blob store fetched from the upstream; cache bytes: blobs
 * and task layers B downloaded from the cache). Target: ratio <= 0.3, upstream_bytes_b = 0.
 * Everything lives in a temp dir, deleted afterwards (unless --keep); the registry is stopped.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startRegistry } from '../buildchain/sources/embedded/servers.ts';
import { copyRepository } from '../test/helpers/workspace.ts';
import { childrenCpuS } from './lib/cpu.ts';

const REPO = path.resolve(import.meta.dirname, '..');
const execp = promisify(execFile);

function option(args: readonly string[], name: string, fallback: string): string {
  const i = args.indexOf(name);
  return i >= 0 ? (args[i + 1] ?? fallback) : fallback;
}

/**
 * A fresh-clone-like copy of the working tree (no .git, _build or .env; node_modules linked) at
 * `dir`, dist/ compiled.
 */
async function freshCopy(dir: string): Promise<void> {
  await copyRepository(dir);
  // dist/ compiled before the clock, as `npm ci` (prepare) does on a fresh clone.
  await execp(process.execPath, ['bin/compile-dist.mjs'], { cwd: dir });
}

interface RunResult {
  readonly seconds: number;
  /** CPU seconds of the build's process tree (user + system): what load does not stretch. */
  readonly cpuS: number;
  readonly stats: Record<string, number | string>;
  readonly sha256: string;
}

async function build(
  dir: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  log: string,
): Promise<RunResult> {
  const t = process.hrtime.bigint();
  const cpu0 = childrenCpuS();
  try {
    await execp(process.execPath, ['bin/buildchain.js', '--quiet', '--json-log', log, ...args], {
      cwd: dir,
      env,
      maxBuffer: 64 << 20,
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(`build in ${dir} failed:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  const cpuS = childrenCpuS() - cpu0;
  const events = (await readFile(log, 'utf8'))
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, number | string>);
  const stats = events.find((e) => e.event === 'cache-stats') ?? {};
  const sums = await readFile(path.join(dir, '_build', 'SHA256SUM'), 'utf8').catch(() => '');
  return { seconds, cpuS, stats, sha256: sums.split(/\s/)[0] ?? '' };
}

function num(stats: Record<string, number | string>, key: string): number {
  const v = stats[key];
  return typeof v === 'number' ? v : 0;
}

export async function run(args: string[]): Promise<void> {
  const workers = option(args, '--workers', '2');
  const scale = option(args, '--scale', 'small');
  const keep = args.includes('--keep');
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'mk8s-bench-cache-'));
  let stop: (() => Promise<void>) | undefined;
  try {
    // The cache: a distribution registry with basic auth (bcrypt htpasswd).
    const htpasswd = path.join(tmp, 'htpasswd');
    execFileSync('htpasswd', ['-B', '-b', '-c', htpasswd, 'ci', 'bench-secret'], {
      stdio: 'ignore',
    });
    const registry = await startRegistry({ dir: path.join(tmp, 'registry'), htpasswd });
    stop = () => registry.stop();
    const authFile = path.join(tmp, 'auth.json');
    await writeFile(
      authFile,
      JSON.stringify({
        auths: { [registry.address]: { auth: Buffer.from('ci:bench-secret').toString('base64') } },
      }),
    );
    const epoch = execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: REPO })
      .toString()
      .trim();
    const base: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LANG: 'C',
      TMPDIR: process.env.TMPDIR ?? os.tmpdir(),
      SOURCE_DATE_EPOCH: epoch,
      STAND_IN_SCALE: scale,
      INSECURE_REGISTRIES: registry.address,
      REGISTRY_AUTH_FILE: authFile,
      BUILD_CACHE: `oci://${registry.address}/ci/metalk8s-cache`,
    };

    // The upstream: the embedded mirror's stand-ins, seeded once.
    const seed = path.join(tmp, 'upstream', 'metalk8s');
    await freshCopy(seed);
    await build(seed, ['mirror:seed'], { ...base, BUILD_CACHE: '' }, path.join(tmp, 'seed.ndjson'));
    const runner = async (dir: string, mode: string, name: string): Promise<RunResult> => {
      await freshCopy(dir);
      await mkdir(path.join(dir, '_build'));
      await cp(path.join(seed, '_build', 'mirror'), path.join(dir, '_build', 'mirror'), {
        recursive: true,
      });
      return build(
        dir,
        ['-n', workers, 'iso'],
        { ...base, BUILD_CACHE_MODE: mode },
        path.join(tmp, `${name}.ndjson`),
      );
    };
    const dirA = path.join(tmp, 'runner-a', 'metalk8s');
    const dirB = path.join(tmp, 'elsewhere', 'runner-b', 'src');
    const a = await runner(dirA, 'readwrite', 'a');
    const b = await runner(dirB, 'read', 'b');
    for (const [name, r] of [
      ['A (readwrite)', a],
      ['B (read)', b],
    ] as const) {
      process.stdout.write(
        `runner ${name}: ${r.seconds.toFixed(1)} s; tasks restored ${num(r.stats, 'tasksRestored')}, saved ${num(r.stats, 'tasksSaved')}, missed ${num(r.stats, 'tasksMissed')}; ` +
          `blobs from upstream ${num(r.stats, 'blobsFromUpstream')} (${num(r.stats, 'blobBytesFromUpstream')} B), from cache ${num(r.stats, 'blobsFromCache')} (${num(r.stats, 'blobBytesFromCache')} B), uploaded ${num(r.stats, 'blobsUploaded')} (${num(r.stats, 'blobBytesUp')} B); ` +
          `task layers down ${num(r.stats, 'taskBytesDown')} B, up ${num(r.stats, 'taskBytesUp')} B; warnings ${num(r.stats, 'warnings')}\n`,
      );
    }
    process.stdout.write(`iso_identical=${String(a.sha256 !== '' && a.sha256 === b.sha256)}\n`);
    // CPU time of each runner's build (not of the cache registry serving it): on a loaded
    // machine the wall times stretch, these much less.
    process.stdout.write(
      `# load ${os.loadavg()[0]?.toFixed(1) ?? '?'}: cpu_a_s=${a.cpuS.toFixed(2)} cpu_b_s=${b.cpuS.toFixed(2)} cpu_ratio=${(b.cpuS / a.cpuS).toFixed(2)}\n`,
    );
    // The embedded mirror's servers each runner started (each writes its config on start;
    // the seeded copy holds none): B needs the registry for the image manifests, and nginx
    // for the repomd.xml files the download's cache key is made of (docs/cache.md).
    const started = (dir: string): string =>
      [
        ['registry', 'registry/config.yml'],
        ['nginx', 'nginx/nginx.conf'],
      ]
        .filter(([, f]) => existsSync(path.join(dir, '_build', 'mirror', f ?? '')))
        .map(([n]) => n)
        .join(',') || 'none';
    process.stdout.write(`# mirror servers started: a=${started(dirA)} b=${started(dirB)}\n`);
    const ratio = b.seconds / a.seconds;
    process.stdout.write(
      `runner_a_s=${a.seconds.toFixed(2)} runner_b_s=${b.seconds.toFixed(2)} ratio=${ratio.toFixed(2)} ` +
        `upstream_bytes_a=${num(a.stats, 'blobBytesFromUpstream')} upstream_bytes_b=${num(b.stats, 'blobBytesFromUpstream')} ` +
        `cache_bytes_b=${num(b.stats, 'blobBytesFromCache') + num(b.stats, 'taskBytesDown')}\n`,
    );
  } finally {
    await stop?.();
    if (keep) process.stdout.write(`kept ${tmp}\n`);
    else await rm(tmp, { recursive: true, force: true });
  }
}
