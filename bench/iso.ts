/**
 * `npm run bench -- iso [--size-mb N] [--runs N] [--skip-build] [--skip-stream]`
 *
 * 1. Build times of `npm run build iso` in a temp copy of the repository (default embedded
 *    sources): cold, no-op, and after changing one Salt file.
 * 2. The whole ISO step (writeIso: ISO written, md5 implanted, SHA256SUM) against a plain `cat`
 *    of the same bytes into a file, on a tree of random data (default 1600 MB), in the same
 *    run; medians of N runs; the naive xorriso → implantisomd5 → sha256sum sequence once, for
 *    reference. Prints `iso_step_s cat_s ratio`. Target: ratio <= 1.5.
 * Everything is created under the temp dir and deleted afterwards.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { writeIso } from '../buildchain/media/iso/write-iso.ts';
import { copyRepository } from '../test/helpers/workspace.ts';

const REPO = path.resolve(import.meta.dirname, '..');
const execp = promisify(execFile);

function option(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  const v = i >= 0 ? Number(args[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} needs a positive number`);
  return v;
}

async function timed(what: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await what();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

async function buildTimes(tmp: string): Promise<void> {
  const repo = path.join(tmp, 'repo');
  await copyRepository(repo);
  const tsx = pathToFileURL(path.join(REPO, 'node_modules/tsx/dist/loader.mjs')).href;
  const build = (): Promise<unknown> =>
    execp(process.execPath, ['--import', tsx, 'buildchain/cli/bin.ts', '--quiet', 'iso'], {
      cwd: repo,
      maxBuffer: 64 << 20,
    });
  const cold = await timed(build);
  const noop = await timed(build);
  await appendFile(path.join(repo, 'salt/metalk8s/repo/init.sls'), '# bench\n');
  const incremental = await timed(build);
  process.stdout.write('cold_s noop_s salt_incremental_s\n');
  process.stdout.write(`${cold.toFixed(2)} ${noop.toFixed(2)} ${incremental.toFixed(2)}\n`);
}

/** Random-data tree: 64 MiB files up to `sizeMb`, plus 1000 small files. */
async function makeTree(root: string, sizeMb: number): Promise<string[]> {
  await mkdir(path.join(root, 'small'), { recursive: true });
  const files: string[] = [];
  const chunk = Buffer.alloc(16 << 20);
  for (let i = 0; i * 64 < sizeMb; i++) {
    const file = path.join(root, `big-${String(i).padStart(3, '0')}.bin`);
    const fh = await open(file, 'w');
    for (let j = 0; j < 4; j++) {
      randomFillSync(chunk);
      await fh.write(chunk);
    }
    await fh.close();
    files.push(file);
  }
  for (let i = 0; i < 1000; i++) {
    const file = path.join(root, 'small', `f${i}.txt`);
    await writeFile(file, `small file ${i}\n`);
    files.push(file);
  }
  return files;
}

async function isoStep(tmp: string, sizeMb: number, runs: number): Promise<void> {
  const root = path.join(tmp, 'tree');
  const files = await makeTree(root, sizeMb);
  const out = path.join(tmp, 'out');
  await mkdir(out);
  const isoTimes: number[] = [];
  const catTimes: number[] = [];
  for (let r = 0; r < runs; r++) {
    execFileSync('sync');
    catTimes.push(
      await timed(() =>
        execp('sh', [
          '-c',
          'f="$1"; shift; cat "$@" > "$f"',
          'sh',
          path.join(out, 'cat.out'),
          ...files,
        ]),
      ),
    );
    await rm(path.join(out, 'cat.out'));
    execFileSync('sync');
    isoTimes.push(
      await timed(() =>
        writeIso({
          root,
          output: path.join(out, 'bench.iso'),
          volumeId: 'BENCH 1.0',
          epoch: 1700000000,
        }),
      ),
    );
    await rm(path.join(out, 'bench.iso'));
  }
  // The naive sequence, once, for reference: xorriso to a file, implantisomd5, sha256sum.
  execFileSync('sync');
  const naiveIso = path.join(out, 'naive.iso');
  const naive = await timed(async () => {
    await execp('xorriso', [
      '-as',
      'mkisofs',
      '-o',
      naiveIso,
      '-quiet',
      '-R',
      '-J',
      '-joliet-long',
      '-V',
      'BENCH 1.0',
      '-iso-level',
      '3',
      root,
    ]);
    await execp('implantisomd5', [naiveIso]);
    await execp('sha256sum', [naiveIso]);
  });
  await rm(naiveIso);
  const iso = median(isoTimes);
  const cat = median(catTimes);
  process.stdout.write(
    `tree_mb=${sizeMb} runs=${runs} iso_runs=${isoTimes.map((t) => t.toFixed(2)).join(',')} cat_runs=${catTimes.map((t) => t.toFixed(2)).join(',')}\n`,
  );
  process.stdout.write(`naive_s=${naive.toFixed(2)} naive_ratio=${(naive / cat).toFixed(2)}\n`);
  process.stdout.write('iso_step_s cat_s ratio\n');
  process.stdout.write(`${iso.toFixed(2)} ${cat.toFixed(2)} ${(iso / cat).toFixed(2)}\n`);
}

export async function run(args: string[]): Promise<void> {
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'bench-iso-'));
  try {
    if (!args.includes('--skip-build')) await buildTimes(tmp);
    if (!args.includes('--skip-stream'))
      await isoStep(tmp, option(args, '--size-mb', 1600), option(args, '--runs', 3));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
