/**
 * What `build` decides before any stage runs: the Solution is linted (errors refuse the build,
 * nothing is written), then the paths, the build timestamp and the product fields are fixed.
 * The stage tasks (stage-tasks.ts) are defined from this plan.
 */
import path from 'node:path';
import { TaskError } from '../../../engine/task.ts';
import type { Reporter } from '../../../engine/events.ts';
import type { BuildConfig } from '../../../config/config.ts';
import type { Sources } from '../../../sources/sources.ts';
import { hostFilesNotAllowed } from '../config/host-files.ts';
import type { SolutionConfig } from '../config/solution-config.ts';
import { lintSolution } from '../lint/lint.ts';
import { formatProblems, type Problem } from '../lint/problems.ts';
import { execDirectWith, type Exec } from '../../../engine/exec/run-command.ts';
import { secretKeyFingerprint } from './signature.ts';
import { commitTimeOrMtime } from '../../../config/build-info.ts';
import {
  ARCHIVE_LAYOUT_VERSION,
  formatTimestamp,
  isoFileName,
  volumeId,
  type ProductInfo,
} from './product.ts';

/** Binaries the build runs. */
export interface SolutionTools {
  readonly skopeo: string;
  readonly buildah: string;
  readonly xorriso: string;
  readonly git: string;
  /** Signs SHA256SUM (`signKey`). */
  readonly gpg: string;
}

export const DEFAULT_TOOLS: SolutionTools = {
  skopeo: 'skopeo',
  buildah: 'buildah',
  xorriso: 'xorriso',
  git: 'git',
  gpg: 'gpg',
};

/** Options for `buildSolution` (build.ts). */
export interface BuildSolutionOptions {
  readonly dir: string;
  /** ISO path; default `<dir>/_build/<lowercase name>-<version>.iso`. */
  readonly output?: string;
  /** Work directory, holding the engine state (`.buildchain/`); default `<dir>/_build`. */
  readonly workDir?: string;
  /** Shared blob store; default `<workDir>/blobs`. */
  readonly blobDir?: string;
  /** SOURCE_DATE_EPOCH (seconds); default: the git commit time, else the config's mtime. */
  readonly sourceDateEpoch?: number;
  readonly tools?: Partial<SolutionTools>;
  /** Where remote images come from (required when the list has some). */
  readonly sources?: Sources;
  /** Creates the Sources only when needed (a remote image task runs). */
  readonly sourcesFactory?: () => Sources;
  /**
   * The settings local image builds get, as the platform's image builds get them (the proxies,
   * REGISTRY_MIRRORS and INSECURE_REGISTRIES as a registries.conf, REGISTRY_AUTH_FILE: images
   * domain's builderEnv). Without it, buildah sees only the process environment.
   */
  readonly builderConfig?: Pick<BuildConfig, 'settings' | 'root'>;
  readonly allowUnpinned?: boolean;
  /** Complete the image list from the manifests (as `images: auto` in solution.yaml). */
  readonly imagesAuto?: boolean;
  /**
   * Accept the `hostFiles` of the Solution (files of this host copied into images, and so
   * onto the ISO). Without it a Solution with host files is refused (`host-file-not-allowed`).
   */
  readonly allowHostFiles?: boolean;
  /**
   * Sign SHA256SUM with this gpg secret key (fingerprint, key id or user id): `SHA256SUM.asc`
   * beside it. Without it, no signature is left beside the ISO.
   */
  readonly signKey?: string;
  /** The keyring holding `signKey` (GNUPGHOME; default gpg's own, ~/.gnupg). */
  readonly gnupgHome?: string;
  /** Force the manifest.yaml layout on (otherwise solution.yaml's `manifestYaml`). */
  readonly manifestYaml?: boolean;
  readonly run?: Exec;
  /** Log lines of the stages (`image NAME:VERSION: building`, `ISO is up to date`). */
  readonly log?: (line: string) => void;
  /** Receives the engine's events as well (start, skip, done, fail, summary). */
  readonly reporter?: Reporter;
  readonly signal?: AbortSignal;
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

/** Everything decided before any work: lint result, paths, product fields. */
export interface BuildPlan {
  readonly dir: string;
  readonly tools: SolutionTools;
  readonly run: Exec | undefined;
  readonly config: SolutionConfig;
  /** Files to copy onto the ISO (relative to `dir`). */
  readonly shipped: readonly string[];
  readonly warnings: readonly Problem[];
  readonly workDir: string;
  readonly blobDir: string;
  readonly iso: string;
  readonly epoch: number;
  readonly product: ProductInfo;
  readonly volumeId: string;
  /** Fingerprint of the key signing SHA256SUM (undefined: not signed). */
  readonly signFingerprint: string | undefined;
  readonly gnupgHome: string | undefined;
}

async function gitDescribe(run: Exec, git: string, dir: string): Promise<string> {
  return run([git, '-C', dir, 'describe', '--always', '--long', '--tags', '--dirty']).then(
    (r) => r.stdout.trim(),
    () => '',
  );
}

/** Lints (throws {@link SolutionInvalidError} on errors) and fixes every build parameter. */
export async function planBuild(o: BuildSolutionOptions): Promise<BuildPlan> {
  const dir = path.resolve(o.dir);
  const tools = { ...DEFAULT_TOOLS, ...o.tools };
  const lint = await lintSolution(dir, {
    allowUnpinned: o.allowUnpinned ?? false,
    ...(o.imagesAuto === true ? { imagesAuto: true } : {}),
  });
  const refused = [
    ...lint.problems.filter((p) => p.severity === 'error'),
    ...(lint.config === undefined || o.allowHostFiles === true
      ? []
      : hostFilesNotAllowed(lint.config)),
  ];
  if (refused.length > 0 || lint.config === undefined) throw new SolutionInvalidError(refused);
  const config: SolutionConfig = {
    ...lint.config,
    manifestYaml: o.manifestYaml ?? lint.config.manifestYaml,
  };
  const workDir = path.resolve(o.workDir ?? path.join(dir, '_build'));
  const run = o.run ?? execDirectWith(o.signal);
  // A key that cannot sign is a usage error (exit 2) before any stage runs.
  const signFingerprint =
    o.signKey === undefined
      ? undefined
      : await secretKeyFingerprint(o.signKey, {
          gpg: tools.gpg,
          run,
          ...(o.gnupgHome !== undefined ? { gnupgHome: o.gnupgHome } : {}),
        });
  // The build-timestamp rule of the platform (config/build-info.ts), on the Solution's directory.
  const epoch =
    o.sourceDateEpoch ??
    (await commitTimeOrMtime(run, tools.git, dir, path.join(dir, 'solution.yaml')));
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
    run: o.run,
    config,
    shipped: lint.shipped,
    warnings: lint.problems.filter((p) => p.severity === 'warning'),
    workDir,
    blobDir: path.resolve(o.blobDir ?? path.join(workDir, 'blobs')),
    iso: path.resolve(o.output ?? path.join(workDir, isoFileName(config.name, config.version))),
    epoch,
    product,
    volumeId: volumeId(config.name, config.version),
    signFingerprint,
    gnupgHome: o.gnupgHome,
  };
}
