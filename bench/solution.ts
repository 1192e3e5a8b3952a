/**
 * `npm run bench -- solution`: build time of the example Solution (cold, then no-op), ISO write
 * and `verify` throughput on a generated Solution with random-data layers, and, in the same run
 * on the same bytes, one sha256 pass (the baseline): `verify_vs_sha256` must be >= 0.7.
 * One line on stdout: `solution build_cold_s=... verify_vs_sha256=... met=yes|no`.
 * Options: `--size-mb N` (default 1024), `--small` (= 200 MB), `--rounds N` (default 3: best
 * of N for verify and for sha256, alternating), `--keep` (keep the work dir).
 */
import { randomBytes, createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sha256File, sha256FileOnWorker } from '../buildchain/lib/fs/hash.ts';
import { buildSolution } from '../buildchain/tasks/solution/build/build.ts';
import { skeletonFiles } from '../buildchain/tasks/solution/init/init-templates.ts';
import {
  REGISTRY_CONFIG_FILE,
  substituteUi,
  solutionRegistryConfig,
} from '../buildchain/tasks/solution/build/layout.ts';
import { renderProductTxt } from '../buildchain/tasks/solution/build/product.ts';
import { verifySolutionIso } from '../buildchain/tasks/solution/verify/verify.ts';
import { writeSolutionIso } from '../buildchain/tasks/solution/build/write-solution-iso.ts';

const EXAMPLE = path.resolve(import.meta.dirname, '..', 'examples', 'solution-example');
const MB = 1024 * 1024;
const LAYER_MB = 64;

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = process.hrtime.bigint();
  const r = await f();
  return [r, Number(process.hrtime.bigint() - t) / 1e9];
}

async function writeBlob(dir: string, data: Buffer): Promise<{ digest: string; size: number }> {
  const hex = createHash('sha256').update(data).digest('hex');
  await writeFile(path.join(dir, hex), data);
  return { digest: `sha256:${hex}`, size: data.length };
}

/** A staged Solution root with `sizeMb` of random layers spread over 4 images. */
async function generateRoot(root: string, sizeMb: number): Promise<void> {
  const layers = Math.max(1, Math.round(sizeMb / LAYER_MB));
  for (let img = 0; img < 4; img++) {
    // bench-app is the image the skeleton's manifests deploy (verify checks the references).
    const dir = path.join(root, 'images', img === 0 ? 'bench-app' : `bench-${img}`, '1.0.0');
    await mkdir(dir, { recursive: true });
    const config = await writeBlob(
      dir,
      Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', n: img })),
    );
    const refs = [];
    for (let l = img; l < layers; l += 4)
      refs.push(await writeBlob(dir, randomBytes(Math.round((sizeMb * MB) / layers))));
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', ...config },
      layers: refs.map((r) => ({
        mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
        ...r,
      })),
    };
    await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    await writeFile(path.join(dir, 'version'), 'Directory Transport Version: 1.1\n');
  }
  await writeFile(
    path.join(root, REGISTRY_CONFIG_FILE),
    await solutionRegistryConfig(path.join(root, 'images')),
  );
  await writeFile(
    path.join(root, 'product.txt'),
    renderProductTxt({
      name: 'Bench',
      version: '1.0.0',
      requireMetalK8s: '>=2.4.0',
      archiveLayoutVersion: 1,
      git: '',
      buildTimestamp: '2023-11-14T22:13:20Z',
    }),
  );
  for (const [rel, text] of Object.entries(skeletonFiles({ name: 'Bench', version: '1.0.0' }))) {
    if (!rel.startsWith('operator/deploy/') && !rel.startsWith('ui/')) continue;
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    // As the build stages them: ui/ files with @VERSION@ and @REPOSITORY@ replaced.
    await writeFile(
      path.join(root, rel),
      rel.startsWith('ui/') ? substituteUi(text, '1.0.0') : text,
    );
  }
}

/** Best (smallest) time of `rounds` runs of `f`. */
async function best(rounds: number, f: () => Promise<unknown>): Promise<number> {
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < rounds; i++) min = Math.min(min, (await timed(f))[1]);
  return min;
}

function numberArg(args: readonly string[], flag: string, fallback: number): number {
  const i = args.indexOf(flag);
  if (i < 0) return fallback;
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n) || n <= 0) {
    throw new Error(`${flag} needs a positive whole number, got ${String(args[i + 1])}`);
  }
  return n;
}

/** Ratio `verify` must reach against one sha256 pass over the same ISO. */
const VERIFY_TARGET = 0.7;

export async function run(args: string[]): Promise<void> {
  const sizeMb = args.includes('--small') ? 200 : numberArg(args, '--size-mb', 1024);
  const rounds = numberArg(args, '--rounds', 3);
  const work = await mkdtemp(path.join(os.tmpdir(), 'mk8s-bench-solution-'));
  try {
    const out = path.join(work, 'example', 'example.iso');
    const opts = {
      dir: EXAMPLE,
      output: out,
      workDir: path.join(work, 'example', 'work'),
      sourceDateEpoch: 1700000000,
      // The example's image carries this host's busybox (docs/solution.md, Host files).
      allowHostFiles: true,
    };
    const [, coldS] = await timed(() => buildSolution(opts));
    const [noop, noopS] = await timed(() => buildSolution(opts));
    if (!noop.upToDate) throw new Error('the second example build was not a no-op');

    const root = path.join(work, 'big', 'root');
    process.stderr.write(`bench solution: generating ${sizeMb} MB of layers in ${root}\n`);
    await generateRoot(root, sizeMb);
    const iso = path.join(work, 'big', 'out', 'bench.iso');
    const [, isoS] = await timed(() =>
      writeSolutionIso({
        root,
        output: iso,
        volumeId: 'Bench 1.0.0',
        epoch: 1700000000,
        xorriso: 'xorriso',
      }),
    );
    const mb = (await stat(iso)).size / 1e6;
    // Baseline and subject alternate on the same (cached) bytes; the best round of each counts.
    let shaS = Number.POSITIVE_INFINITY;
    let verifyS = Number.POSITIVE_INFINITY;
    for (let i = 0; i < rounds; i++) {
      shaS = Math.min(shaS, await best(1, () => sha256File(iso)));
      verifyS = Math.min(
        verifyS,
        await best(1, async () => {
          const result = await verifySolutionIso(iso);
          if (result.problems.some((p) => p.severity === 'error'))
            throw new Error(`verify found problems: ${JSON.stringify(result.problems)}`);
        }),
      );
    }
    const ratio = shaS / verifyS;
    // How much of a second core this run had: two sha256 passes at once (main thread and a
    // worker), against one. About 2 on an idle 2-core machine, 1 when every core is busy;
    // verify hashes every byte twice on two threads, so its ratio follows this one.
    const bothS = await best(rounds, () => Promise.all([sha256File(iso), sha256FileOnWorker(iso)]));
    const parallel = (2 * shaS) / bothS;
    const f = (n: number, d = 2): string => n.toFixed(d);
    console.log(
      [
        'solution',
        `build_cold_s=${f(coldS)}`,
        `build_noop_s=${f(noopS)}`,
        `iso_mb=${f(mb, 0)}`,
        `iso_write_mb_s=${f(mb / isoS, 0)}`,
        `verify_mb_s=${f(mb / verifyS, 0)}`,
        `sha256_mb_s=${f(mb / shaS, 0)}`,
        `verify_vs_sha256=${f(ratio)}`,
        `target=${f(VERIFY_TARGET, 1)}`,
        `met=${ratio >= VERIFY_TARGET ? 'yes' : 'no'}`,
        `parallel_x=${f(parallel)}`,
        `rounds=${rounds}`,
      ].join(' '),
    );
  } finally {
    if (args.includes('--keep')) process.stderr.write(`kept ${work}\n`);
    else await rm(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) await run(process.argv.slice(2));
