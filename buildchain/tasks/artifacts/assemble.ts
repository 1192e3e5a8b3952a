/**
 * Assembles `_build/artifacts/` all or nothing: everything is written into a staging
 * directory beside it, then swapped in with renames. The ISO is hard-linked, not copied.
 */
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { linkOrCopy, replaceDir, stagingPathFor } from '../../lib/fs/staging.ts';

/** What goes into the artifacts directory. */
export interface ArtifactsContent {
  readonly outDir: string;
  readonly isoFile: string;
  readonly sumFile: string;
  /** Detached signatures of SHA256SUM (copied when present). */
  readonly signatures: readonly string[];
  /** product.txt of the ISO root. */
  readonly productTxt: string;
  /** File name → JSON value (build-report.json, sbom.cdx.json). */
  readonly json: Readonly<Record<string, unknown>>;
  /** The engine's event log, copied as `events.ndjson` when given. */
  readonly eventLog?: string;
}

/** Result: whether the ISO could be hard-linked (false: copied across filesystems). */
export interface AssembleResult {
  readonly isoHardLinked: boolean;
  readonly files: readonly string[];
}

/** Writes the artifacts into a staging dir, then replaces `outDir` with it. */
export async function assembleArtifacts(c: ArtifactsContent): Promise<AssembleResult> {
  const staging = stagingPathFor(c.outDir);
  await mkdir(staging, { recursive: true });
  try {
    const isoHardLinked = await linkOrCopy(c.isoFile, path.join(staging, path.basename(c.isoFile)));
    await copyFile(c.sumFile, path.join(staging, path.basename(c.sumFile)));
    for (const sig of c.signatures) await copyFile(sig, path.join(staging, path.basename(sig)));
    await copyFile(c.productTxt, path.join(staging, 'product.txt'));
    for (const [name, value] of Object.entries(c.json)) {
      await writeFile(path.join(staging, name), JSON.stringify(value, null, 2) + '\n');
    }
    if (c.eventLog !== undefined) await copyFile(c.eventLog, path.join(staging, 'events.ndjson'));
    await replaceDir(staging, c.outDir);
    const files = [
      path.basename(c.isoFile),
      path.basename(c.sumFile),
      ...c.signatures.map((s) => path.basename(s)),
      'product.txt',
      ...Object.keys(c.json),
    ];
    if (c.eventLog !== undefined) files.push('events.ndjson');
    return { isoHardLinked, files };
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}
