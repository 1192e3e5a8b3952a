/**
 * `npm run bench -- images` (or `npx tsx bench/images.ts`): pulling a set of images sharing
 * base layers from a loopback registry, the Python buildchain's way (one
 * `skopeo copy --format v2s2 --dest-compress` per image, sequential, then `hardlink -c`)
 * against ours (`images -n 2` through the CLI, and the pull functions with 2 connections).
 * Options: `--small` (about 60 MB, for a quick check), `--keep` (keep the work dir).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { BlobStore } from '../buildchain/media/images/blob-store.ts';
import { pullImage } from '../buildchain/tasks/images/pull.ts';
import { RegistryClient } from '../buildchain/tasks/images/registry-client.ts';
import { startRegistry } from '../buildchain/sources/embedded/servers.ts';
import {
  pushImage,
  writeOciLayout,
  type FixtureFile,
  type FixtureImage,
} from '../test/tools/images-fixtures.ts';

const exec = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '..');
const MB = 1_000_000;

interface BenchImage {
  readonly name: string;
  readonly tag: string;
  digest: string;
}

function randomLayer(name: string, bytes: number): FixtureFile[] {
  return [{ name, data: randomBytes(bytes) }];
}

/** 12 images: all share base A, half also base B, each has its own layer. */
function benchSet(small: boolean): FixtureImage[] {
  const scale = small ? 0.25 : 1;
  const a = randomLayer('base-a', Math.round(80 * MB * scale));
  const b = randomLayer('base-b', Math.round(60 * MB * scale));
  return Array.from({ length: 12 }, (_, i) => ({
    ref: `img${i}`,
    layers: [a, ...(i % 2 === 0 ? [b] : []), randomLayer(`own-${i}`, Math.round(6 * MB * scale))],
    gzipLevel: 0,
  }));
}

async function timed(what: () => Promise<unknown>): Promise<{ s: number; withSync: number }> {
  const t0 = performance.now();
  await what();
  const t1 = performance.now();
  await exec('sync');
  const t2 = performance.now();
  return { s: (t1 - t0) / 1000, withSync: (t2 - t0) / 1000 };
}

async function duBytes(...dirs: string[]): Promise<number> {
  const { stdout } = await exec('du', ['-scb', ...dirs]);
  return Number(stdout.trim().split('\n').at(-1)?.split('\t')[0] ?? 0);
}

async function storeBytes(dir: string): Promise<number> {
  let n = 0;
  for (const f of await readdir(dir)) n += (await stat(path.join(dir, f))).size;
  return n;
}

async function cliWorkspace(
  ws: string,
  registry: string,
  images: readonly BenchImage[],
): Promise<void> {
  await mkdir(path.join(ws, 'images'), { recursive: true });
  await copyFile(path.join(REPO, '.env.example'), path.join(ws, '.env.example'));
  await writeFile(
    path.join(ws, 'VERSION'),
    'VERSION_MAJOR=0\nVERSION_MINOR=0\nVERSION_PATCH=0\nVERSION_SUFFIX=-bench\n',
  );
  await writeFile(
    path.join(ws, '.env'),
    `SOURCES=site\nREGISTRY_MIRRORS=bench.example=${registry}\nINSECURE_REGISTRIES=${registry}\n`,
  );
  const list = images.map(
    (i) =>
      `  - name: ${i.name}\n    version: "${i.tag}"\n    source: { registry: bench.example, repository: bench/${i.name} }\n    digest: ${i.digest}\n`,
  );
  await writeFile(path.join(ws, 'images', 'images.yaml'), `images:\n${list.join('')}`);
  await writeFile(
    path.join(ws, 'tasks.ts'),
    `import { createImagesTasks } from ${JSON.stringify(path.join(REPO, 'buildchain/tasks/images/tasks.ts'))};\n` +
      'export function createTasks(config, sources) { return createImagesTasks(config, sources); }\n',
  );
}

export async function run(args: string[]): Promise<void> {
  const small = args.includes('--small');
  const work = await mkdtemp(path.join(os.tmpdir(), 'mk8s-bench-images-'));
  const registry = await startRegistry({ dir: path.join(work, 'registry') });
  try {
    process.stderr.write(`bench images: building the set in ${work}\n`);
    const set = benchSet(small);
    await writeOciLayout(path.join(work, 'oci'), set);
    const images: BenchImage[] = set.map((s) => ({ name: s.ref, tag: '1.0', digest: '' }));
    for (const img of images) {
      img.digest = pushImage(
        path.join(work, 'oci'),
        img.name,
        `${registry.address}/bench/${img.name}:${img.tag}`,
        { v2s2: true },
      );
    }
    await exec('sync');

    const baseDir = path.join(work, 'baseline', 'images');
    const baseline = await timed(async () => {
      for (const img of images) {
        const dest = path.join(baseDir, img.name, img.tag);
        await mkdir(path.dirname(dest), { recursive: true });
        await exec('skopeo', [
          '--override-os',
          'linux',
          'copy',
          '-q',
          '--src-tls-verify=false',
          '--format',
          'v2s2',
          '--dest-compress',
          `docker://${registry.address}/bench/${img.name}:${img.tag}`,
          `dir:${dest}`,
        ]);
      }
      await exec('hardlink', ['-q', '-c', baseDir]);
    });

    const ws = path.join(work, 'ws');
    await cliWorkspace(ws, registry.address, images);
    const ours = await timed(() =>
      exec(
        path.join(REPO, 'node_modules', '.bin', 'tsx'),
        [
          path.join(REPO, 'buildchain/cli/bin.ts'),
          '-q',
          '--tasks-module',
          'tasks.ts',
          '-n',
          '2',
          'images',
        ],
        { cwd: ws },
      ),
    );

    const store = new BlobStore(path.join(work, 'lib', 'blobs'), 2);
    const client = new RegistryClient({
      endpoint: { host: registry.address, pathPrefix: '', insecure: true },
    });
    const lib = await timed(() =>
      Promise.all(
        images.map((img) =>
          pullImage({
            client,
            repository: `bench/${img.name}`,
            reference: img.digest,
            platforms: 'linux/amd64',
            store,
            dest: path.join(work, 'lib', 'images', img.name, img.tag),
            what: img.name,
          }),
        ),
      ),
    );
    const unique = await storeBytes(path.join(work, 'lib', 'blobs', 'sha256'));
    const disk = await duBytes(path.join(ws, '_build', 'root', 'images'));
    const cols = [
      'baseline_s',
      'ours_s',
      'ratio',
      'bytes_fetched',
      'unique_blob_bytes',
      'disk_bytes',
      'baseline_sync_s',
      'ours_sync_s',
      'ratio_sync',
      'ours_lib_s',
      'ours_lib_sync_s',
    ];
    const vals = [
      baseline.s,
      ours.s,
      baseline.s / ours.s,
      store.stats.bytesFetched,
      unique,
      disk,
      baseline.withSync,
      ours.withSync,
      baseline.withSync / ours.withSync,
      lib.s,
      lib.withSync,
    ];
    process.stdout.write(
      `${cols.join(' ')}\n${vals.map((v) => (Number.isInteger(v) ? String(v) : v.toFixed(2))).join(' ')}\n`,
    );
    process.stderr.write(
      `images=${images.length} baseline disk=${await duBytes(baseDir)} (ours: CLI -n 2 incl. ~1-2 s CLI start-up; ` +
        'bytes_fetched from the library run, 2 connections)\n',
    );
  } finally {
    await registry.stop();
    if (!args.includes('--keep')) await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.filename === path.resolve(process.argv[1])) {
  await run(process.argv.slice(2));
}
