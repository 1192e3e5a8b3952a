/**
 * The `images` task group: per image `images:pull:<name>` / `images:build:<name>`, then
 * `images:prune`, `images:dedup`, `images:registry-config`, and the `images` alias.
 * `images:lock` records digests of unpinned remote images into images/images.yaml.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { BuildConfig } from '../../config/config.ts';
import type { ImageEntry } from '../../config/content-types.ts';
import { IMAGE_LIST_FILE, loadImageListSync } from '../../config/images.ts';
import { fn, type ActionContext, type TargetCheck, type TaskDefinition } from '../../engine/task.ts';
import { isInside, removeInside } from '../../lib/fs/fence.ts';
import { walkTreeSync } from '../../lib/fs/walk.ts';
import type { Sources } from '../../sources/sources.ts';
import { openBlobStore } from '../../media/images/blob-store.ts';
import { builderSettingsKey } from './builder-settings.ts';
import { dedupTree, inodeSnapshot, snapshotChanges } from './dedup.ts';
import { layoutProblem } from './layout-check.ts';
import { imagesPaths } from './paths.ts';

/** Options for {@link createImagesTasks}. */
export interface ImagesTasksOptions {
  /** Image list file relative to the root (default images/images.yaml). */
  readonly listFile?: string;
}

/** Task name suffix per image: the name, or name-version when a name has several versions. */
function itemNames(entries: readonly ImageEntry[]): Map<ImageEntry, string> {
  const count = new Map<string, number>();
  for (const e of entries) count.set(e.name, (count.get(e.name) ?? 0) + 1);
  return new Map(entries.map((e) => [e, (count.get(e.name) ?? 0) > 1 ? `${e.name}-${e.version}` : e.name]));
}

/**
 * Every file of a build context (sorted), for fileDeps; symlinks too (the engine hashes what
 * they lead to; a dangling one would be a missing file dep, and is left to the builder).
 */
function contextFiles(dir: string): string[] {
  return walkTreeSync(dir)
    .filter((e) => e.kind === 'file' || (e.kind === 'symlink' && existsSync(e.path)))
    .map((e) => e.path)
    .sort();
}

/**
 * The target of one image: its archive, or the layout's `manifest.json`. The manifest names
 * every blob by digest and the layout is renamed into place complete, so hashing the manifest
 * stands for the whole tree (hashing every layout would re-read each shared layer).
 */
export function imageTarget(config: BuildConfig, entry: ImageEntry): string {
  return entry.ship === 'archive' && entry.archivePath !== undefined
    ? path.join(config.isoRoot, entry.archivePath)
    : path.join(config.isoRoot, 'images', entry.name, entry.version, 'manifest.json');
}

/** Uptodate check: every file the layout's manifest names is there with its size. */
function layoutCheck(dir: string): () => true | string {
  return () => {
    // A missing manifest.json is already reported as a missing target.
    if (!existsSync(path.join(dir, 'manifest.json'))) return true;
    const problem = layoutProblem(dir);
    return problem === undefined || `layout ${path.basename(path.dirname(dir))}/${path.basename(dir)} incomplete: ${problem}`;
  };
}

/**
 * Target check of `images:dedup`: the inodes under the images directory are those the last
 * pass left (recorded by the engine with the task's state). A producer re-creating its layout
 * (e.g. after the ISO root was deleted: same fingerprint, new files) gives new inodes, so the
 * pass runs again. Stat only.
 */
function dedupTargetCheck(imagesDir: string): TargetCheck {
  return {
    observe: () => Promise.resolve(inodeSnapshot([imagesDir])),
    changes: (recorded, now) => {
      const changes = snapshotChanges(recorded as Record<string, string>, now as Record<string, string>);
      const rel = (c: string): string => (c.startsWith(imagesDir + path.sep) ? c.slice(imagesDir.length + 1) : c);
      return changes.length === 0 ? [] : [`files under images/ changed since the last dedup: ${changes.map(rel).join(', ')}`];
    },
  };
}

/** The archives `images:prune` left in place, recorded by the engine for its next run. */
interface PruneRecord {
  readonly keepArchives?: readonly string[];
}

export function createImagesTasks(config: BuildConfig, sources: Sources, options: ImagesTasksOptions = {}): TaskDefinition[] {
  const listFile = options.listFile ?? IMAGE_LIST_FILE;
  const entries = loadImageListSync(config.root, listFile);
  const paths = imagesPaths(config);
  const pullConnections = config.settings.imagePullConnections;
  const store = (): ReturnType<typeof openBlobStore> => openBlobStore(paths.blobs, pullConnections);
  const names = itemNames(entries);
  const embedded = sources.kind === 'embedded';
  const builder = config.settings.imageBuilder;
  const imageTasks: TaskDefinition[] = entries.map((entry) => {
    const item = names.get(entry) ?? entry.name;
    const target = imageTarget(config, entry);
    // Up to date while the fingerprint (entry, sources kind, builder) and the target hold. With
    // a config value, the engine never takes a target without stored state as up to date: a
    // target left by an earlier run of another entry (state forgotten, a failed run) is rebuilt.
    const removable = entry.ship === 'archive' ? target : path.dirname(target);
    const common = {
      targets: [target],
      config: { entry, sources: sources.kind },
      // The target is only manifest.json: a blob deleted by hand is found by this stat pass.
      uptodate: entry.ship === 'archive' ? [true] : [layoutCheck(removable)],
      clean: [fn(`images-clean ${removable}`, () => removeInside(config.buildRoot, removable))],
    };
    if (entry.build !== undefined) {
      // A real build pulls its FROM images through the mirrors and credentials of builderEnv:
      // they are in the fingerprint (stand-in builds pull nothing).
      const settingsKey = embedded ? undefined : builderSettingsKey(config);
      const buildConfig = settingsKey === undefined ? common.config : { ...common.config, builder: settingsKey };
      const ctxDir = path.join(config.root, entry.build.context);
      // A Containerfile outside the context (build.file: ../x/Dockerfile) is an input too.
      const buildFile = entry.build.file === undefined ? undefined : path.resolve(ctxDir, entry.build.file);
      const outsideFile = buildFile === undefined || isInside(ctxDir, buildFile) ? [] : [buildFile];
      return {
        name: `images:build:${item}`,
        doc: `Build ${entry.name}:${entry.version} from ${entry.build.context}${embedded ? ' (stand-in)' : ''}`,
        title: `IMG BUILD ${entry.name}:${entry.version}`,
        ...common,
        config: buildConfig,
        cacheable: { outputs: [removable] },
        fileDeps: [path.join(config.root, listFile), ...contextFiles(ctxDir), ...outsideFile],
        tools: [builder, 'skopeo'],
        envKeys: ['IMAGE_BUILDER', 'SOURCES'],
        actions: [
          fn(
            `images-build ${JSON.stringify({ entry, builder, standIn: embedded })}`,
            // Action modules load when an image task runs (the registry client and nginx
            // templates cost start-up time otherwise).
            async (ctx) => (await import('./task-actions.ts')).buildImageAction(ctx, { config, entry, builder, standIn: embedded, paths, store: store() }),
          ),
        ],
      };
    }
    return {
      name: `images:pull:${item}`,
      doc: `Pull ${entry.name}:${entry.version} from ${entry.source?.registry ?? '?'}/${entry.source?.repository ?? '?'}`,
      title: `PULL IMG ${entry.name}:${entry.version}`,
      ...common,
      taskDeps: embedded ? ['mirror:seed'] : [],
      // Network and disk: with the build cache on it runs beside the workers (engine/task.ts).
      ioBound: true,
      tools: entry.ship === 'archive' ? ['skopeo'] : [],
      envKeys: ['SOURCES', 'REGISTRY_MIRRORS', 'INSECURE_REGISTRIES', 'REGISTRY_AUTH_FILE', 'ALLOW_UNPINNED_IMAGES'],
      actions: [
        fn(
          `images-pull ${JSON.stringify(entry)}`,
          async (ctx) => (await import('./task-actions.ts')).pullImageAction(ctx, { config, entry, sources, paths, store: store() }),
        ),
      ],
    };
  });
  const producers = imageTasks.map((t) => t.name);
  const keep = entries.filter((e) => e.ship === 'dir').map((e) => `${e.name}/${e.version}`).sort();
  const keepArchives = entries.flatMap((e) => (e.archivePath !== undefined ? [path.join(config.isoRoot, e.archivePath)] : []));
  return [
    ...imageTasks,
    {
      name: 'images:prune',
      doc: 'Remove image versions and archives no longer in images/images.yaml',
      taskDeps: producers,
      config: { keep, keepArchives },
      // No stored state (first run, forgotten) makes it run; the fingerprint the later ones.
      uptodate: [true],
      // The kept archives are recorded with the task's state for the next run, which removes
      // those it no longer keeps.
      targetCheck: { observe: () => Promise.resolve({ keepArchives } satisfies PruneRecord) },
      actions: [
        fn(`images-prune ${JSON.stringify({ keep, keepArchives })}`, async (ctx: ActionContext) => {
          const { pruneImages } = await import('./prune.ts');
          const removed = await pruneImages({ imagesDir: paths.imagesDir, keep: new Set(keep), keepArchives: new Set(keepArchives), fence: config.buildRoot });
          // Archives elsewhere in the ISO tree (e.g. pause in the Salt tree): those the last run
          // kept and this one does not.
          const last = (ctx.lastObserved ?? {}) as PruneRecord;
          for (const old of last.keepArchives ?? []) {
            if (keepArchives.includes(old) || !isInside(config.isoRoot, path.resolve(old))) continue;
            await removeInside(config.buildRoot, old);
            removed.push(old);
          }
          for (const p of removed) ctx.log(`removed ${path.relative(config.isoRoot, p)}`);
        }),
      ],
    },
    {
      name: 'images:dedup',
      doc: 'Hard-link identical files under the ISO images/ (covers locally built images)',
      title: 'HARDLINK',
      taskDeps: [...producers, 'images:prune'],
      config: { keep },
      targetCheck: dedupTargetCheck(paths.imagesDir),
      actions: [
        fn(`images-dedup ${JSON.stringify(keep)}`, async (ctx: ActionContext) => {
          const blobs = store();
          const r = await dedupTree([paths.imagesDir], { claimed: (st) => blobs.verifiedDigest(st) });
          ctx.log(`dedup: ${r.files} files (${r.hashed} read), ${r.linked} linked, ${r.savedBytes} bytes saved`);
        }),
      ],
    },
    {
      name: 'images:registry-config',
      doc: `Generate the nginx registry includes (${path.relative(config.isoRoot, paths.registryInclude)})`,
      taskDeps: [...producers, 'images:prune', 'images:dedup'],
      fileDeps: [path.join(config.root, 'VERSION')],
      // The manifests whose digests the includes serve, as the producers left them.
      dynamicDeps: {
        after: [],
        compute: async () => ({ fileDeps: (await import('./registry-scan.ts')).manifestFiles(paths.imagesDir) }),
      },
      targets: [paths.registryInclude, paths.registryCommonInclude],
      config: { keep, projectName: config.projectName },
      actions: [
        fn(`images-registry-config ${JSON.stringify(keep)}`, async (ctx) => (await import('./write-registry-config.ts')).writeRegistryConfig(ctx, config, paths)),
      ],
    },
    {
      name: 'images',
      doc: 'Pull and build every container image of the ISO, dedup them, write the registry config',
      taskDeps: ['images:registry-config'],
      uptodate: [true],
    },
    {
      name: 'images:lock',
      doc: `Record the digests of unpinned remote images into ${listFile} (SOURCES=upstream/site)`,
      uptodate: [false],
      actions: [fn('images-lock', async (ctx) => (await import('./lock.ts')).lockImages(ctx, { config, sources, listFile, entries }))],
    },
  ];
}
