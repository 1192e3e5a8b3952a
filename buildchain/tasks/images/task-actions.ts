/** The actions of `images:pull:*` and `images:build:*` (engine glue around pull/build). */
import path from 'node:path';
import type { BuildConfig } from '../../config/config.ts';
import type { ImageEntry } from '../../config/content-types.ts';
import { buildFileOf } from '../../config/images.ts';
import { requireInside } from '../../lib/fs/fence.ts';
import { TaskError, type ActionContext } from '../../engine/task.ts';
import type { Sources } from '../../sources/sources.ts';
import { exportArchive } from './archive.ts';
import type { BlobStore } from '../../media/images/blob-store.ts';
import { contextExec } from '../../engine/exec/run-command.ts';
import { buildInputsDigest, buildLocalImage, writeStandInContext } from './build.ts';
import type { ImageBuilder } from './builder-args.ts';
import { builderEnv } from './builder-env.ts';
import { pullImage, type PullClient } from './pull.ts';
import { RegistryClient } from './registry-client.ts';
import type { ImagesPaths } from './paths.ts';

/** Layout directory of an image: on the ISO, or beside it for archives. */
function layoutDir(config: BuildConfig, paths: ImagesPaths, entry: ImageEntry): string {
  return entry.ship === 'archive'
    ? path.join(paths.archiveLayouts, entry.name, entry.version)
    : path.join(config.isoRoot, 'images', entry.name, entry.version);
}

async function maybeArchive(ctx: ActionContext, config: BuildConfig, entry: ImageEntry, layout: string): Promise<void> {
  if (entry.ship !== 'archive' || entry.archivePath === undefined) return;
  const ref = entry.source !== undefined
    ? `${entry.source.registry}/${entry.source.repository}:${entry.version}`
    : `localhost/${entry.name}:${entry.version}`;
  await exportArchive({
    layoutDir: layout,
    tarPath: path.join(config.isoRoot, entry.archivePath),
    refName: ref,
    skopeo: config.tools.skopeo?.bin ?? 'skopeo',
    run: contextExec(ctx),
  });
}

/** Options shared by the image actions. */
export interface PullActionOptions {
  readonly config: BuildConfig;
  readonly entry: ImageEntry;
  readonly sources: Sources;
  readonly paths: ImagesPaths;
  readonly store: BlobStore;
}

/** Pulls a remote image by its pinned digest (or by tag when unpinned images are allowed). */
export async function pullImageAction(ctx: ActionContext, o: PullActionOptions): Promise<void> {
  const { entry, config } = o;
  const src = entry.source;
  if (src === undefined) throw new TaskError('internal-error', `${entry.name} has no source`);
  const what = `${entry.name}:${entry.version}`;
  const digest = await o.sources.imageDigest(entry);
  if (digest === undefined && !config.settings.allowUnpinnedImages) {
    throw new TaskError('invalid-input', `image ${what} (${src.registry}/${src.repository}) has no pinned digest`, {
      hint: 'run `npm run build images:lock` to record it in images/images.yaml, or set ALLOW_UNPINNED_IMAGES=true (not for releases)',
    });
  }
  // The registry is reached (and the embedded mirror's started) only when something must be
  // fetched from it: a manifest not stored locally, a blob the cache does not hold.
  let real: RegistryClient | undefined;
  let opening: Promise<RegistryClient> | undefined;
  const open = (): Promise<RegistryClient> =>
    (opening ??= o.sources.registry(src.registry).then((endpoint) => (real = new RegistryClient({ endpoint, signal: ctx.signal }))));
  const client: PullClient = {
    getManifest: async (repository, reference) => (await open()).getManifest(repository, reference),
    getBlob: async (repository, digest) => (await open()).getBlob(repository, digest),
    blobSource: (repository) => real?.blobSource(repository),
  };
  const dest = layoutDir(config, o.paths, entry);
  const before = o.store.stats.bytesFetched;
  const r = await pullImage({
    client,
    repository: src.repository,
    reference: digest ?? entry.version,
    ...(o.sources.storedManifest === undefined ? {} : { storedManifest: (d: string) => o.sources.storedManifest?.(entry, d) ?? Promise.resolve(undefined) }),
    platforms: entry.platforms,
    store: o.store,
    dest,
    what,
    onProgress: (done, total, message) => {
      ctx.progress(done, total, message);
    },
  });
  if (digest === undefined) ctx.log(`WARNING: ${what} is unpinned; pulled ${r.digest} by tag`);
  ctx.log(`${what}: ${r.digest} (${r.mediaType}), ${r.blobBytes} blob bytes, ${o.store.stats.bytesFetched - before} fetched by all pulls meanwhile`);
  await maybeArchive(ctx, config, entry, dest);
}

/** Options of {@link buildImageAction}. */
export interface BuildActionOptions {
  readonly config: BuildConfig;
  readonly entry: ImageEntry;
  readonly builder: ImageBuilder;
  /** Build the FROM scratch stand-in instead of the real context (SOURCES=embedded). */
  readonly standIn: boolean;
  readonly paths: ImagesPaths;
  readonly store: BlobStore;
}

/** Builds a local image (or its stand-in) and materialises its layout. */
export async function buildImageAction(ctx: ActionContext, o: BuildActionOptions): Promise<void> {
  const { entry, config } = o;
  const build = entry.build;
  if (build === undefined) throw new TaskError('internal-error', `${entry.name} has no build context`);
  let context = path.join(config.root, build.context);
  // Checked again at run time: context and Containerfile must still resolve inside the repository.
  requireInside(config.root, context, `images.yaml: image ${entry.name}:${entry.version}: build.context`, 'keep the build context inside the repository');
  let file = await buildFileOf(context, build.file, config.root);
  if (o.standIn) {
    // The stand-in records the digest of the real inputs: an edited context changes the image.
    const inputs = await buildInputsDigest(context, file, build.args ?? {});
    context = path.join(o.paths.containers, 'stand-in', entry.name);
    file = await writeStandInContext(context, entry.name, entry.version, inputs);
    ctx.log(`${entry.name}: SOURCES=embedded, building the FROM scratch stand-in (inputs sha256:${inputs})`);
  }
  if (file === undefined) throw new TaskError('missing-file-dep', `${build.context} has no Containerfile or Dockerfile`);
  const dest = layoutDir(config, o.paths, entry);
  const env = o.standIn ? undefined : await builderEnv(config, o.builder, o.paths.containers, (line) => {
    ctx.log(line);
  });
  await buildLocalImage({
    name: entry.name,
    version: entry.version,
    context,
    file,
    args: o.standIn ? {} : (build.args ?? {}),
    builder: o.builder,
    bin: config.tools[o.builder]?.bin ?? o.builder,
    skopeo: config.tools.skopeo?.bin ?? 'skopeo',
    workDir: o.paths.containers,
    store: o.store,
    dest,
    run: contextExec(ctx),
    ...(env !== undefined ? { env } : {}),
  });
  await maybeArchive(ctx, config, entry, dest);
}
