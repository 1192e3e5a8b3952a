/**
 * Engine tasks for Solutions of this repository (the example under examples/): `solution:build:<id>`
 * builds the ISO (fingerprinted by the Solution's files, so an unchanged Solution is up to date),
 * `solution:verify:<id>` checks it. Both call the same functions as the CLI.
 */
import path from 'node:path';
import type { BuildConfig } from '../../config/config.ts';
import { fn, type TaskDefinition } from '../../engine/task.ts';
import { walkTreeSync } from '../../lib/fs/walk.ts';
import type { Sources } from '../../sources/sources.ts';
import { contextExec } from '../../engine/exec/run-command.ts';
import { SKIPPED_DIRS } from './config/tree-scan.ts';
import { TaskError } from '../../engine/task.ts';

/** A Solution of the repository the engine builds. */
export interface SolutionTarget {
  /** Task name suffix, e.g. `example`. */
  readonly id: string;
  /** Directory relative to the repository root. */
  readonly dir: string;
  /** ISO file name (written under `<BUILD_ROOT>/solutions/`). */
  readonly iso: string;
  /** Accept its `hostFiles` (see host-files.ts): only for Solutions of this repository that need them. */
  readonly allowHostFiles?: boolean;
}

/** Options for {@link createSolutionTasks}. */
export interface SolutionTasksOptions {
  readonly solutions?: readonly SolutionTarget[];
}

export const EXAMPLE_SOLUTION: SolutionTarget = {
  id: 'example',
  dir: 'examples/solution-example',
  iso: 'example-solution.iso',
  // Its image carries the host's static busybox (hostFiles: {busybox: /bin/busybox}), by design.
  allowHostFiles: true,
};

/** Every file of a Solution directory (sync: task creation is synchronous; Solutions are small). */
function listFiles(root: string): string[] {
  return walkTreeSync(root, { filter: (e) => !SKIPPED_DIRS.has(e.rel) })
    .filter((e) => e.kind !== 'dir')
    .map((e) => e.path)
    .sort();
}

function solutionTasks(config: BuildConfig, sources: Sources, s: SolutionTarget): TaskDefinition[] {
  const dir = path.join(config.root, s.dir);
  const outDir = path.join(config.buildRoot, 'solutions');
  const iso = path.join(outDir, s.iso);
  const workDir = path.join(outDir, `${s.id}.work`);
  const tools = {
    skopeo: config.tools.skopeo?.bin ?? 'skopeo',
    buildah: config.tools.buildah?.bin ?? 'buildah',
    xorriso: config.tools.xorriso?.bin ?? 'xorriso',
    git: config.tools.git?.bin ?? 'git',
  };
  const epochSeconds = config.settings.sourceDateEpoch;
  const epoch = epochSeconds === undefined ? '' : String(epochSeconds);
  const params = {
    dir: s.dir,
    iso: s.iso,
    tools,
    epoch,
    allowHostFiles: s.allowHostFiles === true,
  };
  const build: TaskDefinition = {
    name: `solution:build:${s.id}`,
    doc: `Build the Solution ISO of ${s.dir}`,
    fileDeps: listFiles(dir),
    targets: [iso],
    tools: ['skopeo', 'buildah', 'xorriso'],
    // The registry settings as the platform's image pulls fingerprint them (images:pull): a
    // change reruns the build, whose own stages then decide what to pull or build again.
    envKeys: [
      'SOURCE_DATE_EPOCH',
      'ALLOW_UNPINNED_IMAGES',
      'SOURCES',
      'REGISTRY_MIRRORS',
      'INSECURE_REGISTRIES',
      'REGISTRY_AUTH_FILE',
    ],
    config: params,
    clean: true,
    actions: [
      fn(`solution-build ${JSON.stringify(params)}`, async (ctx) => {
        // Loaded when a Solution is built (the ISO writer and image code cost start-up time).
        const { buildSolution } = await import('./build/build.ts');
        await buildSolution({
          dir,
          output: iso,
          workDir,
          blobDir: path.join(config.buildRoot, 'blobs'),
          ...(epochSeconds !== undefined ? { sourceDateEpoch: epochSeconds } : {}),
          tools,
          sources,
          builderConfig: config,
          allowUnpinned: config.settings.allowUnpinnedImages,
          allowHostFiles: s.allowHostFiles === true,
          run: contextExec(ctx),
          log: (l) => {
            ctx.log(l);
          },
          signal: ctx.signal,
        });
      }),
    ],
  };
  const verify: TaskDefinition = {
    name: `solution:verify:${s.id}`,
    doc: `Verify the Solution ISO of ${s.dir}`,
    fileDeps: [iso],
    taskDeps: [build.name],
    tools: ['isoinfo'],
    actions: [
      fn(`solution-verify ${s.iso}`, async (ctx) => {
        const { verifySolutionIso } = await import('./verify/verify.ts');
        const { formatProblems, hasErrors } = await import('./lint/problems.ts');
        const r = await verifySolutionIso(iso, {
          isoinfo: config.tools.isoinfo?.bin ?? 'isoinfo',
          run: contextExec(ctx),
        });
        for (const p of r.problems) ctx.log(`${p.file}: ${p.severity} [${p.code}] ${p.message}`);
        if (hasErrors(r.problems))
          throw new TaskError(
            'invalid-input',
            `${iso} failed verification:\n${formatProblems(r.problems)}`,
          );
      }),
    ],
  };
  return [build, verify];
}

/** Tasks `solution:build:<id>` and `solution:verify:<id>` for each Solution (default: the example). */
export function createSolutionTasks(
  config: BuildConfig,
  sources: Sources,
  options: SolutionTasksOptions = {},
): TaskDefinition[] {
  return (options.solutions ?? [EXAMPLE_SOLUTION]).flatMap((s) =>
    solutionTasks(config, sources, s),
  );
}
