/**
 * `build`: lint, fetch the images, stage the ISO root, write the ISO and its SHA256SUM. A direct
 * pipeline with a content-hash skip: a rerun on unchanged inputs does nothing. A failed build
 * leaves no ISO (the previous one is removed before rebuilding; the new one appears by rename).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { TaskError } from '../../../engine/task.ts';
import type { Sources } from '../../../sources/sources.ts';
import { parseSha256Sums, sha256SumPath } from './checksum.ts';
import { hostFilesNotAllowed } from '../config/host-files.ts';
import { fetchSolutionImages, imageKey } from './images.ts';
import { stageSolutionRoot } from './layout.ts';
import { lintSolution } from '../lint/lint.ts';
import { formatProblems, type Problem } from '../lint/problems.ts';
import {
  ARCHIVE_LAYOUT_VERSION,
  formatTimestamp,
  isoFileName,
  volumeId,
  type ProductInfo,
} from './product.ts';
import { execaRunner, type CommandRunner } from '../run-command.ts';
import type { SolutionConfig } from '../config/solution-config.ts';
import { SKIPPED_DIRS } from '../config/tree-scan.ts';
import { writeSolutionIso } from './write-solution-iso.ts';
import { hashTree } from '../tree-hash.ts';

/** Binaries the build runs. */
export interface SolutionTools {
  readonly skopeo: string;
  readonly buildah: string;
  readonly xorriso: string;
  readonly git: string;
}

export const DEFAULT_TOOLS: SolutionTools = {
  skopeo: 'skopeo',
  buildah: 'buildah',
  xorriso: 'xorriso',
  git: 'git',
};

/** Options for {@link buildSolution}. */
export interface BuildSolutionOptions {
  readonly dir: string;
  /** ISO path; default `<dir>/_build/<lowercase name>-<version>.iso`. */
  readonly output?: string;
  /** Work directory; default `<dir>/_build`. */
  readonly workDir?: string;
  /** Shared blob store; default `<workDir>/blobs`. */
  readonly blobDir?: string;
  /** SOURCE_DATE_EPOCH (seconds); default: the git commit time, else the config's mtime. */
  readonly sourceDateEpoch?: number;
  readonly tools?: Partial<SolutionTools>;
  /** Where remote images come from (required when the list has some). */
  readonly sources?: Sources;
  /** Creates the Sources only when needed (remote images that are not up to date). */
  readonly sourcesFactory?: () => Sources;
  readonly allowUnpinned?: boolean;
  /**
   * Accept the `hostFiles` of the Solution (files of this host copied into images, and so
   * onto the ISO). Without it a Solution with host files is refused (`host-file-not-allowed`).
   */
  readonly allowHostFiles?: boolean;
  /** Force the manifest.yaml layout on (otherwise solution.yaml's `manifestYaml`). */
  readonly manifestYaml?: boolean;
  readonly run?: CommandRunner;
  readonly log?: (line: string) => void;
  readonly signal?: AbortSignal;
}

/** What {@link buildSolution} did. */
export interface BuildSolutionResult {
  readonly iso: string;
  readonly sha256: string;
  readonly size: number;
  /** True when nothing changed and nothing ran. */
  readonly upToDate: boolean;
  readonly volumeId: string;
  /** Warnings of lint. */
  readonly warnings: readonly Problem[];
}

/** Thrown when lint finds errors: the build did not start. */
export class SolutionInvalidError extends TaskError {
  readonly problems: readonly Problem[];
  constructor(problems: readonly Problem[]) {
    super('invalid-input', `the Solution has problems:\n${formatProblems(problems)}`, {
      hint: 'fix them (`metalk8s-solution lint DIR` lists them)',
    });
    this.problems = problems;
  }
}

async function gitDescribe(run: CommandRunner, git: string, dir: string): Promise<string> {
  return run([git, '-C', dir, 'describe', '--always', '--long', '--tags', '--dirty']).then(
    (r) => r.stdout.trim(),
    () => '',
  );
}

async function defaultEpoch(
  run: CommandRunner,
  git: string,
  dir: string,
  configFile: string,
): Promise<number> {
  const t = await run([git, '-C', dir, 'log', '-1', '--format=%ct']).then(
    (r) => Number(r.stdout.trim()),
    () => Number.NaN,
  );
  if (Number.isInteger(t) && t > 0) return t;
  return Math.floor((await stat(configFile)).mtimeMs / 1000);
}

interface BuildKeyRecord {
  readonly key: string;
  readonly iso: string;
  readonly sha256: string;
  readonly size: number;
}

async function computeKey(
  o: BuildSolutionOptions,
  config: SolutionConfig,
  product: ProductInfo,
  iso: string,
  tools: SolutionTools,
): Promise<string> {
  const dir = path.resolve(o.dir);
  const images = await Promise.all(config.images.map((i) => imageKey(i, dir)));
  const parts = [
    'solution-build@1',
    await hashTree(dir, SKIPPED_DIRS),
    product,
    images,
    iso,
    tools,
    o.manifestYaml === true,
  ];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

async function isStillBuilt(
  record: BuildKeyRecord | undefined,
  key: string,
  iso: string,
): Promise<boolean> {
  if (record?.key !== key || record.iso !== iso) return false;
  const st = await stat(iso).catch(() => undefined);
  if (st?.size !== record.size) return false;
  const sums = parseSha256Sums(await readFile(sha256SumPath(iso), 'utf8').catch(() => ''));
  return sums.get(path.basename(iso)) === record.sha256;
}

/** Everything decided before any work: lint result, paths, product fields. */
interface BuildPlan {
  readonly dir: string;
  readonly tools: SolutionTools;
  readonly run: CommandRunner;
  readonly signal: AbortSignal | undefined;
  readonly config: SolutionConfig;
  readonly shipped: readonly string[];
  readonly warnings: readonly Problem[];
  readonly workDir: string;
  readonly iso: string;
  readonly epoch: number;
  readonly product: ProductInfo;
  readonly volumeId: string;
}

async function planBuild(o: BuildSolutionOptions): Promise<BuildPlan> {
  const dir = path.resolve(o.dir);
  const tools = { ...DEFAULT_TOOLS, ...o.tools };
  const run = o.run ?? execaRunner(o.signal);
  const lint = await lintSolution(dir, { allowUnpinned: o.allowUnpinned ?? false });
  const refused = [
    ...lint.problems.filter((p) => p.severity === 'error'),
    ...(lint.config === undefined || o.allowHostFiles === true ? [] : hostFilesNotAllowed(lint.config)),
  ];
  if (refused.length > 0 || lint.config === undefined) throw new SolutionInvalidError(refused);
  const config: SolutionConfig = {
    ...lint.config,
    manifestYaml: o.manifestYaml ?? lint.config.manifestYaml,
  };
  const workDir = path.resolve(o.workDir ?? path.join(dir, '_build'));
  const epoch =
    o.sourceDateEpoch ?? (await defaultEpoch(run, tools.git, dir, path.join(dir, 'solution.yaml')));
  const product: ProductInfo = {
    name: config.name,
    version: config.version,
    requireMetalK8s: config.requireMetalK8s,
    archiveLayoutVersion: ARCHIVE_LAYOUT_VERSION,
    git: await gitDescribe(run, tools.git, dir),
    buildTimestamp: formatTimestamp(epoch),
  };
  return {
    dir,
    tools,
    run,
    signal: o.signal,
    config,
    shipped: lint.shipped,
    warnings: lint.problems.filter((p) => p.severity === 'warning'),
    workDir,
    iso: path.resolve(o.output ?? path.join(workDir, isoFileName(config.name, config.version))),
    epoch,
    product,
    volumeId: volumeId(config.name, config.version),
  };
}

/** Removes the previous ISO and its SHA256SUM so that a failed rebuild leaves none. */
async function removePrevious(iso: string, keyFile: string): Promise<void> {
  await rm(keyFile, { force: true });
  await rm(iso, { force: true });
  const sumFile = sha256SumPath(iso);
  const sums = parseSha256Sums(await readFile(sumFile, 'utf8').catch(() => ''));
  if (sums.has(path.basename(iso))) await rm(sumFile, { force: true });
}

async function fetchImages(p: BuildPlan, o: BuildSolutionOptions): Promise<void> {
  const hasRemote = p.config.images.some((i) => i.source !== undefined);
  const sources = o.sources ?? (hasRemote ? o.sourcesFactory?.() : undefined);
  if (hasRemote && sources === undefined) {
    throw new TaskError(
      'invalid-input',
      'the image list has remote images but no image source is configured',
      { hint: 'run through the CLI, which configures SOURCES' },
    );
  }
  await fetchSolutionImages(p.config.images, {
    solutionDir: p.dir,
    workDir: p.workDir,
    blobDir: path.resolve(o.blobDir ?? path.join(p.workDir, 'blobs')),
    skopeo: p.tools.skopeo,
    buildah: p.tools.buildah,
    ...(sources !== undefined ? { sources } : {}),
    run: p.run,
    ...(o.log !== undefined ? { log: o.log } : {}),
  });
}

/** Builds the Solution ISO. Throws SolutionInvalidError (lint errors) or TaskError. */
export async function buildSolution(o: BuildSolutionOptions): Promise<BuildSolutionResult> {
  const p = await planBuild(o);
  const done = (sha256: string, size: number, upToDate: boolean): BuildSolutionResult => ({
    iso: p.iso,
    sha256,
    size,
    upToDate,
    volumeId: p.volumeId,
    warnings: p.warnings,
  });
  const keyFile = path.join(p.workDir, 'build-key.json');
  const key = await computeKey(o, p.config, p.product, p.iso, p.tools);
  const record = await readFile(keyFile, 'utf8').then(
    (t) => JSON.parse(t) as BuildKeyRecord,
    () => undefined,
  );
  if (record !== undefined && (await isStillBuilt(record, key, p.iso))) {
    o.log?.(`${p.iso} is up to date`);
    return done(record.sha256, record.size, true);
  }
  await removePrevious(p.iso, keyFile);
  await mkdir(p.workDir, { recursive: true });
  await mkdir(path.dirname(p.iso), { recursive: true });
  await fetchImages(p, o);
  const root = await stageSolutionRoot({
    solutionDir: p.dir,
    workDir: p.workDir,
    config: p.config,
    shipped: p.shipped,
    product: p.product,
  });
  const written = await writeSolutionIso({
    root,
    output: p.iso,
    volumeId: p.volumeId,
    epoch: p.epoch,
    xorriso: p.tools.xorriso,
    ...(p.signal === undefined ? {} : { signal: p.signal }),
  });
  const rec: BuildKeyRecord = { key, iso: p.iso, sha256: written.sha256, size: written.size };
  await writeFile(keyFile, JSON.stringify(rec));
  return done(written.sha256, written.size, false);
}
