/**
 * The stages of `solution build` as engine tasks, fingerprinted by the engine (inputs, config,
 * tools, code, dependencies' fingerprints, targets):
 *
 *   solution:image:<name>:<version>  build context files + host-file hashes (+ the builder's
 *                                    mirrors, whether it has an auth file) -> images/<name>/<version>/
 *   solution:registry-config         the image layouts -> registry-config.inc.j2
 *   solution:root                    shipped files, product fields -> root/ (the ISO tree)
 *   solution:iso                     root/ -> the ISO
 *   solution:checksum                the ISO -> SHA256SUM beside it
 *   solution:sign                    SHA256SUM -> SHA256SUM.asc (only with a signing key)
 *
 * Any stage that runs first removes the previous ISO (and its SHA256SUM when it lists the ISO),
 * so that a failed rebuild leaves no stale ISO behind, and its own target, so that an
 * interrupted stage is stale on the next run, never falsely fresh. Stages without file deps
 * (`uptodate: [true]`) are decided by their config, tools, code and dependencies' fingerprints.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fn, TaskError, type ActionContext, type TaskDefinition } from '../../../engine/task.ts';
import { produceFileAtomic, writeFileAtomic } from '../../../lib/fs/atomic-write.ts';
import type { Sources } from '../../../sources/sources.ts';
import type { SolutionImage } from '../config/solution-config.ts';
import { contextExec, type Exec } from '../../../engine/exec/run-command.ts';
import { sha256File } from '../../../lib/fs/hash.ts';
import { parseSha256Sums, sha256SumPath } from './checksum.ts';
import {
  fetchSolutionImage,
  imageInputs,
  imageLayoutDir,
  type FetchImagesOptions,
} from './images.ts';
import { registryConfigFor, REGISTRY_CONFIG_FILE, stageSolutionRoot } from './layout.ts';
import type { BuildPlan } from './plan.ts';
import { gpgDetachSignArgs } from '../../../lib/gpg-args.ts';
import { signaturePath } from './signature.ts';
import { builderSettingsKey } from '../../images/index.ts';
import { writeSolutionIso } from './write-solution-iso.ts';

/** The task whose selection runs the whole build (unsigned). */
export const FINAL_STAGE = 'solution:checksum';
/** The last stage of a signed build. */
export const SIGN_STAGE = 'solution:sign';

/** The stage whose selection runs the whole build of `p`. */
export function finalStage(p: BuildPlan): string {
  return p.signFingerprint === undefined ? FINAL_STAGE : SIGN_STAGE;
}

/** What the stage actions need besides the plan. */
export interface StageEnv {
  /** The image source (created on first use: only a remote image task asks for it). */
  readonly sources: () => Sources | undefined;
  /** The settings handed to local image builds (BuildSolutionOptions.builderConfig). */
  readonly builderConfig?: FetchImagesOptions['builderConfig'];
}

/** Removes `target`, then the previous ISO and its SHA256SUM (when it lists the ISO). */
export async function removePrevious(iso: string, target?: string): Promise<void> {
  if (target !== undefined) await rm(target, { recursive: true, force: true });
  await rm(iso, { force: true });
  const sumFile = sha256SumPath(iso);
  const sums = parseSha256Sums(await readFile(sumFile, 'utf8').catch(() => ''));
  if (sums.has(path.basename(iso))) {
    await rm(sumFile, { force: true });
    await rm(signaturePath(sumFile), { force: true });
  }
}

function runnerOf(p: BuildPlan, ctx: ActionContext): Exec {
  return p.run ?? contextExec(ctx);
}

/** Task name of an image: `/` of a repository name becomes `+` (which no image name holds). */
export function imageTaskName(img: SolutionImage): string {
  return `solution:image:${img.name.replaceAll('/', '+')}:${img.version}`;
}

function imageTask(p: BuildPlan, env: StageEnv, img: SolutionImage): TaskDefinition {
  const inputs = imageInputs(img, p.dir);
  const settings =
    img.build === undefined || env.builderConfig === undefined
      ? undefined
      : builderSettingsKey(env.builderConfig);
  return {
    name: imageTaskName(img),
    title: `image ${img.name}:${img.version}`,
    fileDeps: inputs.files,
    targets: [imageLayoutDir(p.workDir, img)],
    uptodate: [true],
    tools: img.build !== undefined ? ['buildah', 'skopeo'] : ['skopeo'],
    config: {
      img,
      modes: inputs.modes,
      hostFiles: inputs.hostFiles,
      blobDir: p.blobDir,
      // A local build pulls its FROM images with these settings (builderEnv): in the
      // fingerprint, as the platform's image builds have them.
      ...(settings === undefined ? {} : { builder: settings }),
    },
    actions: [
      fn('solution-image', async (ctx) => {
        await removePrevious(p.iso, imageLayoutDir(p.workDir, img));
        const sources = img.source === undefined ? undefined : env.sources();
        if (img.source !== undefined && sources === undefined) {
          throw new TaskError(
            'invalid-input',
            'the image list has remote images but no image source is configured',
            {
              hint: 'run through the CLI, which configures SOURCES',
            },
          );
        }
        await fetchSolutionImage(img, {
          solutionDir: p.dir,
          workDir: p.workDir,
          blobDir: p.blobDir,
          skopeo: p.tools.skopeo,
          buildah: p.tools.buildah,
          ...(sources !== undefined ? { sources } : {}),
          ...(env.builderConfig === undefined ? {} : { builderConfig: env.builderConfig }),
          run: runnerOf(p, ctx),
          log: (l) => {
            ctx.log(l);
          },
        });
      }),
    ],
  };
}

function registryConfigTask(p: BuildPlan, images: readonly string[]): TaskDefinition {
  const file = path.join(p.workDir, REGISTRY_CONFIG_FILE);
  return {
    name: 'solution:registry-config',
    title: REGISTRY_CONFIG_FILE,
    uptodate: [true],
    taskDeps: images,
    targets: [file],
    config: p.config.images.map((i) => `${i.name}:${i.version}`),
    actions: [
      fn('solution-registry-config', async () => {
        await removePrevious(p.iso, file);
        await writeFileAtomic(file, await registryConfigFor(p.workDir, p.config.images));
      }),
    ],
  };
}

function rootTask(p: BuildPlan, deps: readonly string[], registryConfig: string): TaskDefinition {
  const c = p.config;
  return {
    name: 'solution:root',
    title: 'ISO tree',
    fileDeps: p.shipped.map((rel) => path.join(p.dir, rel)),
    uptodate: [true],
    taskDeps: deps,
    targets: [path.join(p.workDir, 'root')],
    config: {
      shipped: p.shipped,
      product: p.product,
      images: c.images.map((i) => `${i.name}:${i.version}`),
      version: c.version,
      manifestYaml: c.manifestYaml,
      operatorImage: c.operatorImage,
      uiImage: c.uiImage,
    },
    actions: [
      fn('solution-root', async () => {
        await removePrevious(p.iso, path.join(p.workDir, 'root'));
        await stageSolutionRoot({
          solutionDir: p.dir,
          workDir: p.workDir,
          config: c,
          shipped: p.shipped,
          product: p.product,
          registryConfigFile: registryConfig,
        });
      }),
    ],
  };
}

function isoTask(p: BuildPlan): TaskDefinition {
  return {
    name: 'solution:iso',
    title: path.basename(p.iso),
    uptodate: [true],
    taskDeps: ['solution:root'],
    targets: [p.iso],
    tools: ['xorriso'],
    config: { volumeId: p.volumeId, epoch: p.epoch },
    actions: [
      fn('solution-iso', async (ctx) => {
        await removePrevious(p.iso);
        await writeSolutionIso({
          root: path.join(p.workDir, 'root'),
          output: p.iso,
          volumeId: p.volumeId,
          epoch: p.epoch,
          xorriso: p.tools.xorriso,
          checksum: false,
          signal: ctx.signal,
        });
      }),
    ],
  };
}

function checksumTask(p: BuildPlan): TaskDefinition {
  const sumFile = sha256SumPath(p.iso);
  return {
    name: FINAL_STAGE,
    title: path.basename(sumFile),
    fileDeps: [p.iso],
    targets: [sumFile],
    actions: [
      fn('solution-checksum', async (ctx) => {
        // A signature of the previous SHA256SUM would no longer match: it goes first.
        await rm(signaturePath(sumFile), { force: true });
        const hex = await sha256File(p.iso, ctx.signal);
        await writeFileAtomic(sumFile, `${hex}  ${path.basename(p.iso)}\n`, { mode: 0o644 });
      }),
    ],
  };
}

/** `SHA256SUM.asc`: the detached, armored signature of SHA256SUM by the plan's key. */
function signTask(p: BuildPlan, fingerprint: string): TaskDefinition {
  const sumFile = sha256SumPath(p.iso);
  const sig = signaturePath(sumFile);
  return {
    name: SIGN_STAGE,
    title: path.basename(sig),
    taskDeps: [FINAL_STAGE],
    fileDeps: [sumFile],
    targets: [sig],
    tools: ['gpg'],
    config: { fingerprint },
    actions: [
      fn('solution-sign', async (ctx) => {
        await produceFileAtomic(
          sig,
          async (tmp) => {
            await runnerOf(p, ctx)(
              gpgDetachSignArgs({
                bin: p.tools.gpg,
                keyName: fingerprint,
                file: sumFile,
                output: tmp,
              }),
              {
                ...(p.gnupgHome === undefined ? {} : { env: { GNUPGHOME: p.gnupgHome } }),
              },
            ).catch((err: unknown) => {
              if (!(err instanceof TaskError) || err.reason !== 'command-failed') throw err;
              throw new TaskError(
                'command-failed',
                `gpg could not sign ${path.basename(sumFile)} with key ${fingerprint}`,
                {
                  hint: 'a key protected by a passphrase needs it cached in gpg-agent first (gpg-preset-passphrase, or sign something once interactively); CI needs a key without passphrase',
                  ...(err.argv !== undefined ? { argv: err.argv } : {}),
                  ...(err.exitCode !== undefined ? { exitCode: err.exitCode } : {}),
                  ...(err.stderrTail !== undefined ? { stderrTail: err.stderrTail } : {}),
                },
              );
            });
          },
          { mode: 0o644 },
        );
      }),
    ],
  };
}

/** The stage tasks of a planned build (the ISO is the target of `solution:iso`). */
export function solutionStageTasks(p: BuildPlan, env: StageEnv): TaskDefinition[] {
  const images = p.config.images.map((img) => imageTask(p, env, img));
  const names = images.map((t) => t.name);
  const registry = registryConfigTask(p, names);
  const registryFile = registry.targets?.[0] ?? '';
  return [
    ...images,
    registry,
    rootTask(p, [...names, registry.name], registryFile),
    isoTask(p),
    checksumTask(p),
    ...(p.signFingerprint === undefined ? [] : [signTask(p, p.signFingerprint)]),
  ];
}
