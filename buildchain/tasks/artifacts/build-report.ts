/**
 * Computes the build report of an ISO from the ISO root tree and the ISO file. The ISO's
 * sha256 is recomputed and checked against SHA256SUM (`digest-mismatch` when they differ).
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { TaskError } from '../../engine/task.ts';
import { parseProductTxt } from '../../media/product-txt.ts';
import { sha256File } from '../../lib/fs/hash.ts';
import { summarizeEventLog } from './event-log.ts';
import type { BuildReport, ReportImage } from './report-types.ts';
import { countBytes, filesUnder, scanImageDirs, scanRepositories, walkTree } from './scan-tree.ts';

/** Inputs of {@link computeBuildReport}. */
export interface BuildReportOptions {
  /** The ISO root tree the ISO was made from. */
  readonly isoRoot: string;
  readonly isoFile: string;
  /** `sha256sum` file holding a line for the ISO (default: SHA256SUM beside the ISO). */
  readonly sumFile?: string;
  /** PROJECT_NAME, used when product.txt has no NAME. */
  readonly projectName: string;
  /** Where content came from, when product.txt has no SOURCES (e.g. `sources.describe()`). */
  readonly sourcesFallback?: () => string;
  /** Text of the engine's JSON event log of this build, if any. */
  readonly eventLog?: string;
}

/** Signature files looked for beside SHA256SUM. */
export function signatureFiles(sumFile: string): string[] {
  return [`${sumFile}.asc`, `${sumFile}.sig`].filter((f) => existsSync(f));
}

/** The expected sha256 of `isoName` in a `sha256sum` file, or undefined. */
export function expectedSha256(sumText: string, isoName: string): string | undefined {
  for (const line of sumText.split('\n')) {
    const m = /^([a-f0-9]{64}) [ *](.+)$/.exec(line.trim());
    if (m?.[2] === isoName) return m[1];
  }
  return undefined;
}

async function checkedIsoSha256(isoFile: string, sumFile: string): Promise<string> {
  const actual = await sha256File(isoFile);
  const sumText = await readFile(sumFile, 'utf8').catch(() => undefined);
  const expected =
    sumText === undefined ? undefined : expectedSha256(sumText, path.basename(isoFile));
  if (expected === undefined) {
    throw new TaskError(
      'missing-file-dep',
      `${sumFile} has no line for ${path.basename(isoFile)}`,
      {
        hint: 'rebuild the ISO (npm run build iso) so that SHA256SUM is written beside it',
      },
    );
  }
  if (expected !== actual) {
    throw new TaskError(
      'digest-mismatch',
      `${path.basename(isoFile)}: sha256 ${actual} does not match SHA256SUM (${expected})`,
      {
        hint: 'the ISO changed after SHA256SUM was written: rebuild it with npm run build iso',
      },
    );
  }
  return actual;
}

/** Builds the report; images and RPMs are sorted by name for stable diffs. */
export async function computeBuildReport(opts: BuildReportOptions): Promise<BuildReport> {
  const sumFile = opts.sumFile ?? path.join(path.dirname(opts.isoFile), 'SHA256SUM');
  const isoSha256 = await checkedIsoSha256(opts.isoFile, sumFile);
  const isoSize = (await stat(opts.isoFile)).size;
  const productText = await readFile(path.join(opts.isoRoot, 'product.txt'), 'utf8').catch(
    () => '',
  );
  const product = Object.fromEntries(parseProductTxt(productText));
  const files = await walkTree(opts.isoRoot);
  const dirImages = await scanImageDirs(opts.isoRoot, files);
  // tar is loaded only when a report is computed (it costs every command's start-up time).
  const { scanArchives } = await import('./scan-archives.ts');
  const archives = await scanArchives(opts.isoRoot, files);
  const images: ReportImage[] = [...dirImages, ...archives].sort((a, b) =>
    `${a.name}:${a.version}`.localeCompare(`${b.name}:${b.version}`),
  );
  const { repos, rpms } = await scanRepositories(opts.isoRoot, files);
  const archivePaths = new Set(archives.map((a) => a.path));
  const repoFiles = repos.flatMap((r) => filesUnder(files, r.path));
  return {
    schema: 'metalk8s-buildchain/build-report@1',
    project: product.NAME ?? opts.projectName,
    version: product.VERSION ?? '',
    gitRef: product.GIT ?? '',
    sources: product.SOURCES ?? opts.sourcesFallback?.() ?? '',
    product,
    iso: {
      file: path.basename(opts.isoFile),
      size: isoSize,
      sha256: isoSha256,
      signed: signatureFiles(sumFile).length > 0,
    },
    sizes: {
      iso: isoSize,
      tree: countBytes(files),
      images: countBytes([
        ...filesUnder(files, 'images'),
        ...files.filter((f) => archivePaths.has(f.rel)),
      ]),
      repositories: countBytes(repoFiles),
    },
    images,
    repositories: repos.sort((a, b) => a.name.localeCompare(b.name)),
    rpms: rpms.sort((a, b) => a.nevra.localeCompare(b.nevra) || a.repo.localeCompare(b.repo)),
    build: opts.eventLog === undefined ? undefined : summarizeEventLog(opts.eventLog),
  };
}
