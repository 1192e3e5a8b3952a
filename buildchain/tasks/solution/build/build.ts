/**
 * `build`: lint (plan.ts), then the stages as engine tasks (stage-tasks.ts, run-stages.ts):
 * images, registry config, ISO tree, ISO, SHA256SUM. The engine's fingerprints decide what is
 * up to date: a rerun on unchanged inputs runs nothing, an edit reruns only the stages reading
 * the edited file. A failed build leaves no ISO (any stage that runs removes the previous one;
 * the new one appears by rename).
 */
import { readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { TaskError } from '../../../engine/task.ts';
import type { Problem } from '../lint/problems.ts';
import { parseSha256Sums, sha256SumPath } from './checksum.ts';
import { planBuild, type BuildSolutionOptions } from './plan.ts';
import { runStages } from './run-stages.ts';
import { signaturePath } from './signature.ts';
import { finalStage, removePrevious, solutionStageTasks } from './stage-tasks.ts';

export {
  DEFAULT_TOOLS,
  SolutionInvalidError,
  type BuildSolutionOptions,
  type SolutionTools,
} from './plan.ts';

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
  /** `SHA256SUM.asc` (signed builds only). */
  readonly signature?: string;
  /** Fingerprint of the signing key (signed builds only). */
  readonly signedBy?: string;
}

/** Builds the Solution ISO. Throws SolutionInvalidError (lint errors) or TaskError. */
export async function buildSolution(o: BuildSolutionOptions): Promise<BuildSolutionResult> {
  const p = await planBuild(o);
  let sources = o.sources;
  const defs = solutionStageTasks(p, {
    sources: () => (sources ??= o.sourcesFactory?.()),
    ...(o.builderConfig === undefined ? {} : { builderConfig: o.builderConfig }),
  });
  const { upToDate } = await runStages(defs, {
    root: p.dir,
    final: finalStage(p),
    workDir: p.workDir,
    tools: p.tools,
    ...(o.log !== undefined ? { log: o.log } : {}),
    ...(o.reporter !== undefined ? { reporter: o.reporter } : {}),
    ...(o.signal !== undefined ? { signal: o.signal } : {}),
  }).catch(async (err: unknown) => {
    // A stage failed or was interrupted (even a missing tool, found before any stage ran): the
    // previous ISO is not the build of these inputs, so none is left. A usage error (the lock
    // of another build, a bad graph: not a TaskError) leaves the other build's ISO alone.
    if (err instanceof TaskError) await removePrevious(p.iso);
    throw err;
  });
  if (upToDate) o.log?.(`${p.iso} is up to date`);
  // Unsigned this time: a signature left by an earlier signed build is not this build's.
  if (p.signFingerprint === undefined)
    await rm(signaturePath(sha256SumPath(p.iso)), { force: true });
  const sums = parseSha256Sums(await readFile(sha256SumPath(p.iso), 'utf8'));
  return {
    iso: p.iso,
    sha256: sums.get(path.basename(p.iso)) ?? '',
    size: (await stat(p.iso)).size,
    upToDate,
    volumeId: p.volumeId,
    warnings: p.warnings,
    ...(p.signFingerprint === undefined
      ? {}
      : { signature: signaturePath(sha256SumPath(p.iso)), signedBy: p.signFingerprint }),
  };
}
