/**
 * CI artifacts: `ci_artifacts` (alias `artifacts`) assembles `_build/artifacts/` after `iso`;
 * `artifacts:compare` prints the size changes against a previous build report.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { BuildConfig } from '../../config/config.ts';
import { fn, TaskError, type TaskDefinition } from '../../engine/task.ts';
import type { Sources } from '../../sources/sources.ts';
import { assembleArtifacts } from './assemble.ts';
import { computeBuildReport, signatureFiles } from './build-report.ts';
import { compareReports, formatChanges } from './compare.ts';
import { isCurrentLog } from './event-log.ts';
import type { BuildReport } from './report-types.ts';
import { buildSbom } from './sbom.ts';

/** Name of the task assembling the artifacts. */
export const ARTIFACTS_TASK = 'ci_artifacts';
const REPORT_VERSION = 1;

/** Paths the artifacts are made from and written to. */
export interface ArtifactPaths {
  readonly isoFile: string;
  readonly sumFile: string;
  readonly productTxt: string;
  readonly outDir: string;
  readonly report: string;
  /** ARTIFACTS_EVENT_LOG resolved (the `--json-log` file of the build). */
  readonly eventLog: string;
}

/** Where `config`'s ISO and artifacts live. */
export function artifactPaths(config: BuildConfig): ArtifactPaths {
  const isoFile = path.join(config.buildRoot, `${config.projectName.toLowerCase()}.iso`);
  const outDir = path.join(config.buildRoot, 'artifacts');
  const eventLog = config.settings.artifactsEventLog ?? '';
  return {
    isoFile,
    sumFile: path.join(config.buildRoot, 'SHA256SUM'),
    productTxt: path.join(config.isoRoot, 'product.txt'),
    outDir,
    report: path.join(outDir, 'build-report.json'),
    eventLog: path.resolve(
      config.root,
      eventLog === '' ? path.join(config.buildRoot, 'events.ndjson') : eventLog,
    ),
  };
}

/** Reads a build report file; a missing or foreign file is `invalid-input`. */
export async function readReport(file: string): Promise<BuildReport> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new TaskError('invalid-input', `cannot read build report ${file}: ${String(err)}`, {
      hint: 'give the build-report.json of a previous `npm run build ci_artifacts`',
    });
  }
  if ((value as { schema?: unknown }).schema !== 'metalk8s-buildchain/build-report@1') {
    throw new TaskError('invalid-input', `${file} is not a metalk8s-buildchain build report`);
  }
  return value as BuildReport;
}

function artifactsTask(config: BuildConfig, sources: Sources, p: ArtifactPaths): TaskDefinition {
  const signatures = signatureFiles(p.sumFile);
  return {
    name: ARTIFACTS_TASK,
    doc: 'assemble _build/artifacts/: ISO (hard link), SHA256SUM, product.txt, build-report.json, SBOM, event log',
    taskDeps: ['iso'],
    fileDeps: [p.isoFile, p.sumFile, ...signatures],
    targets: [p.outDir],
    actions: [
      fn(
        `ci-artifacts@${REPORT_VERSION} ${JSON.stringify({ signatures: signatures.map((s) => path.basename(s)) })}`,
        async (ctx) => {
          const logText = existsSync(p.eventLog) ? await readFile(p.eventLog, 'utf8') : undefined;
          const current = logText !== undefined && isCurrentLog(logText, ctx.task);
          if (!current)
            ctx.log(
              `no event log of this build at ${p.eventLog}: durations left out (run with --json-log ${p.eventLog})`,
            );
          const report = await computeBuildReport({
            isoRoot: config.isoRoot,
            isoFile: p.isoFile,
            sumFile: p.sumFile,
            projectName: config.projectName,
            sourcesFallback: () => sources.describe(),
            ...(current ? { eventLog: logText } : {}),
          });
          const sbom = buildSbom(
            report,
            report.product.BUILD_TIMESTAMP ?? new Date(0).toISOString(),
          );
          const result = await assembleArtifacts({
            outDir: p.outDir,
            isoFile: p.isoFile,
            sumFile: p.sumFile,
            signatures: signatureFiles(p.sumFile),
            productTxt: p.productTxt,
            json: { 'build-report.json': report, 'sbom.cdx.json': sbom },
            ...(current ? { eventLog: p.eventLog } : {}),
          });
          if (!result.isoHardLinked)
            ctx.log('the ISO was copied: BUILD_ROOT/artifacts is on another filesystem');
          ctx.log(`${p.outDir}: ${result.files.join(', ')}`);
        },
      ),
    ],
    clean: true,
  };
}

function compareTask(config: BuildConfig, p: ArtifactPaths): TaskDefinition {
  const old = config.settings.artifactsCompareTo ?? '';
  return {
    name: 'artifacts:compare',
    doc: 'print size changes of _build/artifacts/build-report.json against ARTIFACTS_COMPARE_TO',
    uptodate: [false],
    actions: [
      fn('artifacts-compare', async (ctx) => {
        if (old === '') {
          throw new TaskError('invalid-input', 'ARTIFACTS_COMPARE_TO is not set', {
            hint: 'ARTIFACTS_COMPARE_TO=old/build-report.json npm run build artifacts:compare',
          });
        }
        const before = await readReport(path.resolve(config.root, old));
        const after = await readReport(p.report);
        for (const line of formatChanges(compareReports(before, after))) ctx.log(line);
      }),
    ],
    verbose: true,
  };
}

/** `ci_artifacts`, its alias `artifacts`, and `artifacts:compare`. */
export function createArtifactsTasks(config: BuildConfig, sources: Sources): TaskDefinition[] {
  const p = artifactPaths(config);
  return [
    artifactsTask(config, sources, p),
    { name: 'artifacts', doc: `alias of ${ARTIFACTS_TASK}`, taskDeps: [ARTIFACTS_TASK] },
    compareTask(config, p),
  ];
}
