/**
 * Tasks of the embedded mirror: `mirror:seed` builds the stand-in content (incrementally) and
 * `mirror:serve` keeps the mirror up until Ctrl-C, printing its endpoints and the settings to
 * point another build at it.
 */
import type { Dirent } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { listDirSync } from '../../lib/fs/walk.ts';
import type { BuildConfig } from '../../config/config.ts';
import { fn, type TaskDefinition } from '../../engine/task.ts';
import type { Sources } from '../../sources/sources.ts';
import { loadMirrorPlan } from '../../sources/embedded/content.ts';
import type { EmbeddedMirror } from '../../sources/embedded/embedded.ts';
import { mirrorDirs, readFreshStamp, SEED_FORMAT } from '../../sources/embedded/seed.ts';
import { serveBanner } from '../../sources/embedded/serve-info.ts';
import { embeddedMirrorFor } from '../../sources/open-sources.ts';

/** The content list files the mirror is seeded from (sync: task factories are sync). */
export function mirrorInputFilesSync(root: string): string[] {
  const specs = path.join(root, 'packages-specs');
  const files = [path.join(root, 'images', 'images.yaml')];
  let entries: readonly Dirent[] = [];
  try {
    // Listed once per run while unchanged: the packaging tasks and the lints list it too.
    entries = listDirSync(specs);
  } catch {
    // no packages-specs: images only
  }
  for (const e of entries) {
    if (e.isFile() && e.name.endsWith('.yaml')) files.push(path.join(specs, e.name));
    if (
      e.isDirectory() &&
      listDirSync(path.join(specs, e.name)).some((f) => f.name === 'sources.yaml')
    ) {
      files.push(path.join(specs, e.name, 'sources.yaml'));
    }
  }
  return files.sort();
}

function waitForAbort(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    signal.addEventListener(
      'abort',
      () => {
        resolve();
      },
      { once: true },
    );
  });
}

export function createMirrorTasks(config: BuildConfig, sources: Sources): TaskDefinition[] {
  let own: EmbeddedMirror | undefined;
  // The sources' own mirror when SOURCES=embedded (so the CLI's stop() covers it), else ours.
  const mirror = (): EmbeddedMirror => sources.embedded ?? (own ??= embeddedMirrorFor(config));
  const dirs = mirrorDirs(config.buildRoot);
  return [
    {
      name: 'mirror:seed',
      doc: 'Build the embedded mirror stand-in images, RPMs and files (incremental)',
      title: 'MIRROR SEED',
      fileDeps: mirrorInputFilesSync(config.root),
      targets: [dirs.stamp],
      // The whole mirror (stand-ins, registry storage, signing key): the next use seeds again.
      clean: [
        fn('mirror-clean', async () => {
          await rm(dirs.root, { recursive: true, force: true });
        }),
      ],
      tools: ['rpmbuild', 'createrepo', 'gpg', 'rpmsign'],
      uptodate: [
        async () => {
          const plan = await loadMirrorPlan(
            config.root,
            config.projectName,
            config.settings.standInScale,
          );
          return (
            (await readFreshStamp(dirs, plan)) !== undefined ||
            'the content lists changed since the last seed'
          );
        },
      ],
      actions: [
        fn(`mirror-seed@${SEED_FORMAT}`, async (ctx) => {
          const result = await mirror().seed(ctx.signal);
          ctx.log(`embedded mirror seeded: ${result.summary}`);
        }),
      ],
    },
    {
      name: 'mirror:serve',
      doc: 'Start the embedded mirror on 127.0.0.1 and keep it up until Ctrl-C',
      title: 'MIRROR SERVE',
      taskDeps: ['mirror:seed'],
      tools: ['registry', 'nginx'],
      uptodate: [false],
      verbose: true,
      actions: [
        fn('mirror-serve', async (ctx) => {
          const m = mirror();
          try {
            const endpoints = await m.ensure();
            for (const line of serveBanner(
              endpoints.plan,
              endpoints.registry.address,
              endpoints.web.address,
            ))
              ctx.log(line);
            await waitForAbort(ctx.signal);
          } finally {
            await m.stop();
          }
        }),
      ],
    },
  ];
}
