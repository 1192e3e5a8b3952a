/**
 * Seeds the embedded mirror's storage: stand-in images written into the registry storage,
 * stand-in RPMs (signed with the mirror key) in one yum repo per upstream repo, stand-in source
 * files and GPG keys. Incremental: a stamp keyed by the plan's hash skips everything when the
 * content lists did not change, and only missing RPMs are built when they did.
 */
import { accessSync, readFileSync } from 'node:fs';
import { fromSync } from '../../lib/async/from-sync.ts';
import { access, mkdir, readdir, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execDirectWith } from '../../engine/exec/run-command.ts';
import { TaskError } from '../../engine/task.ts';
import { writeFileAtomic } from '../../lib/fs/atomic-write.ts';
import { planHash, type MirrorPlan } from './content.ts';
import { clearStorage, storeImage } from './registry-storage.ts';
import type { ScaleLayer } from '../../config/stand-in-scale.ts';
import { generateLayer, layerKey, pruneLayerCache, SCALE_CONTENT_FORMAT } from './scale-content.ts';
import { ensureSigningKey, signRpms } from './signing.ts';
import { buildStandInImage, STAND_IN_IMAGE_FORMAT } from './stand-in-image.ts';
import {
  buildStandInRpm,
  rpmFileName,
  runLimited,
  STAND_IN_EPOCH,
  STAND_IN_RPM_FORMAT,
} from './stand-in-rpm.ts';
import { FILES_DIR, standInFileContent, webPathOf } from './web-paths.ts';

/** Directories of an embedded mirror under `<BUILD_ROOT>/mirror`. */
export interface MirrorDirs {
  readonly root: string;
  /** Registry dir for `startRegistry` (storage in `data/`). */
  readonly registry: string;
  /** nginx web root. */
  readonly www: string;
  readonly nginx: string;
  readonly gnupg: string;
  readonly work: string;
  readonly locks: string;
  readonly stamp: string;
}

export function mirrorDirs(buildRoot: string): MirrorDirs {
  const root = path.join(buildRoot, 'mirror');
  return {
    root,
    registry: path.join(root, 'registry'),
    www: path.join(root, 'www'),
    nginx: path.join(root, 'nginx'),
    gnupg: path.join(root, 'gnupg'),
    work: path.join(root, 'work'),
    locks: path.join(root, 'locks'),
    stamp: path.join(root, 'seed.json'),
  };
}

/** What a seed produced (also the stamp file's content). */
export interface SeedResult {
  /** Hash of the plan and stand-in formats. */
  readonly hash: string;
  /** {@link SEED_FORMAT} of the seed (RPMs of another format are built again). */
  readonly format?: string;
  /** `registry/repository:tag` → digest of the stand-in (manifest or manifest list). */
  readonly imageDigests: Readonly<Record<string, string>>;
  /** What was done: `up-to-date`, or counts of the work. */
  readonly summary: string;
}

/** Options for {@link seedMirror}. */
export interface SeedOptions {
  readonly dirs: MirrorDirs;
  readonly plan: MirrorPlan;
  readonly rpmbuildBin?: string;
  readonly createrepoBin?: string;
  readonly gpgBin?: string;
  readonly rpmsignBin?: string;
  /** Concurrent rpmbuild processes (default 2). */
  readonly jobs?: number;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
}

export const SEED_FORMAT = `image${STAND_IN_IMAGE_FORMAT}-rpm${STAND_IN_RPM_FORMAT}-scale${SCALE_CONTENT_FORMAT}-seed1`;

/** The format of a plan's seed: the stand-in formats and the scale (RPMs differ by scale). */
function seedFormatOf(plan: MirrorPlan): string {
  return `${SEED_FORMAT}-${plan.scale ?? 'small'}`;
}

export function imageKey(registry: string, repository: string, tag: string): string {
  return `${registry}/${repository}:${tag}`;
}

/** The stamp when it matches `plan`, else undefined. */
export function readFreshStamp(
  dirs: MirrorDirs,
  plan: MirrorPlan,
): Promise<SeedResult | undefined> {
  // Synchronous reads: this runs on every build's start (one small file, two stats).
  return fromSync(() => {
    try {
      const stamp = JSON.parse(readFileSync(dirs.stamp, 'utf8')) as SeedResult;
      if (stamp.hash !== planHash(plan, SEED_FORMAT)) return undefined;
      accessSync(path.join(dirs.registry, 'data'));
      accessSync(dirs.www);
      return { ...stamp, summary: 'up-to-date' as const };
    } catch {
      return undefined;
    }
  });
}

async function writeIfChanged(file: string, data: Buffer | string): Promise<void> {
  try {
    if ((await readFile(file)).equals(Buffer.from(data))) return;
  } catch {
    // missing
  }
  await writeFileAtomic(file, data, { mkdir: true });
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** Builds, signs and indexes the RPMs of every repo; returns how many were built. */
async function seedRepos(opts: SeedOptions, publicKey: string): Promise<number> {
  const { dirs, plan } = opts;
  const keep = new Set([FILES_DIR, ...plan.repos.map((r) => r.dir)]);
  for (const entry of await readdir(dirs.www).catch(() => [])) {
    if (!keep.has(entry)) await rm(path.join(dirs.www, entry), { recursive: true, force: true });
  }
  const jobs: { rpm: MirrorPlan['repos'][number]['rpms'][number]; dest: string }[] = [];
  const changed = new Set<string>();
  for (const repo of plan.repos) {
    const pkgDir = path.join(dirs.www, repo.dir, 'Packages');
    await mkdir(pkgDir, { recursive: true });
    const wanted = new Set(repo.rpms.map(rpmFileName));
    for (const f of await readdir(pkgDir)) {
      if (!wanted.has(f)) {
        await rm(path.join(pkgDir, f), { force: true });
        changed.add(repo.dir);
      }
    }
    for (const rpm of repo.rpms) {
      if (!(await exists(path.join(pkgDir, rpmFileName(rpm))))) {
        jobs.push({ rpm, dest: pkgDir });
        changed.add(repo.dir);
      }
    }
    if (!(await exists(path.join(dirs.www, repo.dir, 'repodata', 'repomd.xml'))))
      changed.add(repo.dir);
  }
  const built: string[] = [];
  const staging = path.join(dirs.work, 'unsigned');
  await runLimited(jobs, opts.jobs ?? 2, async (job) => {
    const file = await buildStandInRpm(job.rpm, {
      workDir: dirs.work,
      seed: plan.seed ?? '',
      destDir: staging,
      rpmbuildBin: opts.rpmbuildBin,
      signal: opts.signal,
    });
    built.push(file);
  });
  if (built.length > 0) {
    opts.log?.(`signing ${built.length} stand-in RPMs`);
    await signRpms(built, {
      gnupgHome: dirs.gnupg,
      gpgBin: opts.gpgBin,
      rpmsignBin: opts.rpmsignBin,
      signal: opts.signal,
    });
    for (const job of jobs) {
      const name = rpmFileName(job.rpm);
      const from = path.join(staging, name);
      await utimes(from, STAND_IN_EPOCH, STAND_IN_EPOCH);
      await rename(from, path.join(job.dest, name));
    }
  }
  const exec = execDirectWith(opts.signal);
  for (const dir of changed) {
    const repoDir = path.join(dirs.www, dir);
    await exec([
      opts.createrepoBin ?? 'createrepo_c',
      ...[
        '--quiet',
        '--no-database',
        '--revision',
        String(STAND_IN_EPOCH),
        '--set-timestamp-to-revision',
        repoDir,
      ],
    ]);
  }
  for (const key of opts.plan.gpgKeys)
    await writeIfChanged(path.join(dirs.www, webPathOf(key, plan.repos)), publicKey);
  return built.length;
}

/**
 * Seeds (or refreshes) the mirror storage for `plan`. Does not start any server. A failed tool
 * becomes a `command-failed` TaskError; an abort rejects with an `aborted` TaskError.
 */
export async function seedMirror(opts: SeedOptions): Promise<SeedResult> {
  try {
    return await seedUnchecked(opts);
  } catch (err) {
    if (
      err instanceof TaskError &&
      (err.reason === 'command-failed' || err.reason === 'tool-not-found')
    ) {
      throw new TaskError('command-failed', `embedded mirror: ${err.message}`, {
        hint: 'See docs/mirror.md (troubleshooting); `rm -rf <BUILD_ROOT>/mirror` starts the mirror over.',
        ...(err.argv === undefined ? {} : { argv: err.argv }),
        ...(err.exitCode === undefined ? {} : { exitCode: err.exitCode }),
        stderrTail: (err.stderrTail ?? []).slice(-10),
      });
    }
    throw err;
  }
}

async function seedUnchecked(opts: SeedOptions): Promise<SeedResult> {
  const fresh = await readFreshStamp(opts.dirs, opts.plan);
  if (fresh !== undefined) return fresh;
  const { dirs, plan } = opts;
  const previous = (await readFile(dirs.stamp, 'utf8')
    .then((t) => JSON.parse(t) as SeedResult)
    .catch(() => undefined)) ?? { format: undefined };
  await rm(dirs.stamp, { force: true });
  // A lock describes the mirror's previous content: resolve again against the new one.
  await rm(dirs.locks, { recursive: true, force: true });
  // RPMs are kept by file name: those of another format (spec template) are built again.
  if (previous.format !== seedFormatOf(plan)) await rm(dirs.www, { recursive: true, force: true });
  for (const d of [dirs.www, dirs.work, dirs.locks, path.join(dirs.registry, 'data')])
    await mkdir(d, { recursive: true });
  // Images are rebuilt in memory in milliseconds: rewrite the storage so no stale tag remains.
  const storage = path.join(dirs.registry, 'data');
  await clearStorage(storage);
  const imageDigests: Record<string, string> = {};
  const scaleCache = path.join(dirs.root, 'scale-cache');
  const usedLayers = new Set<string>();
  const generate = async (layers: readonly ScaleLayer[], suffix: string) => {
    await mkdir(scaleCache, { recursive: true });
    const out = [];
    for (const l of layers) {
      const layer = { id: `${l.id}${suffix}`, bytes: l.bytes };
      usedLayers.add(layerKey(plan.seed ?? '', layer));
      out.push(await generateLayer(scaleCache, plan.seed ?? '', layer));
    }
    return out;
  };
  for (const ref of plan.images) {
    const scaled =
      ref.layers === undefined
        ? undefined
        : {
            amd64: await generate(ref.layers, ''),
            ...(ref.platforms === 'all' ? { arm64: await generate(ref.layers, '@arm64') } : {}),
          };
    const image = buildStandInImage(ref, scaled);
    await storeImage(storage, image);
    imageDigests[imageKey(ref.registry, ref.repository, ref.tag)] = image.top.digest;
  }
  // Layers of another table (or scale) are not kept: the cache holds what the plan uses.
  if (plan.scale === 'release') await pruneLayerCache(scaleCache, usedLayers);
  if (usedLayers.size > 0) opts.log?.(`${String(usedLayers.size)} release-scale layers ready`);
  const publicKey = await ensureSigningKey({
    gnupgHome: dirs.gnupg,
    gpgBin: opts.gpgBin,
    signal: opts.signal,
  });
  // RPMs signed with another key (the key was made again) would fail signature checks.
  const signedWith = path.join(dirs.root, 'signed-with.asc');
  const previousKey = await readFile(signedWith, 'utf8').catch(() => '');
  if (previousKey !== publicKey) {
    await rm(dirs.www, { recursive: true, force: true });
    await mkdir(dirs.www, { recursive: true });
    await writeFile(signedWith, publicKey);
  }
  const built = await seedRepos(opts, publicKey);
  for (const url of plan.files)
    await writeIfChanged(path.join(dirs.www, webPathOf(url, plan.repos)), standInFileContent(url));
  const rpmCount = plan.repos.reduce((n, r) => n + r.rpms.length, 0);
  const result: SeedResult = {
    hash: planHash(plan, SEED_FORMAT),
    format: seedFormatOf(plan),
    imageDigests,
    summary: `${plan.images.length} images, ${rpmCount} RPMs (${built} built) in ${plan.repos.length} repos, ${plan.files.length} files`,
  };
  await writeFileAtomic(dirs.stamp, JSON.stringify(result, null, 2) + '\n');
  return result;
}
