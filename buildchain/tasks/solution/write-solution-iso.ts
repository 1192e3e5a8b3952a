/**
 * Writes the Solution ISO with `xorriso -as mkisofs` (argv from the ISO domain's mkisofsArgs)
 * to a temporary name, hashes it, then renames it and writes `SHA256SUM` beside it. A failure
 * leaves neither.
 *
 * TODO(iso): use `writeIso` of buildchain/tasks/iso/write-iso.ts once it is stable (it also
 * implants the isomd5sum); this small writer avoids depending on it mid-development.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { mkisofsArgs } from '../iso/mkisofs-args.ts';
import { sha256File } from './checksum.ts';
import type { CommandRunner } from './run-command.ts';

/** Options for {@link writeSolutionIso}. */
export interface WriteSolutionIsoOptions {
  readonly root: string;
  readonly output: string;
  readonly volumeId: string;
  readonly epoch: number;
  /** xorriso binary (XORRISO_BIN). */
  readonly xorriso: string;
  readonly run: CommandRunner;
  /** Write `SHA256SUM` beside the ISO (default true). */
  readonly checksum?: boolean;
}

/** What was written. */
export interface WriteSolutionIsoResult {
  readonly sha256: string;
  /** Bytes. */
  readonly size: number;
}

export async function writeSolutionIso(
  o: WriteSolutionIsoOptions,
): Promise<WriteSolutionIsoResult> {
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const tmp = `${o.output}.tmp-${tag}`;
  const sumFile = path.join(path.dirname(o.output), 'SHA256SUM');
  const tmpSum = `${sumFile}.tmp-${tag}`;
  await mkdir(path.dirname(o.output), { recursive: true });
  try {
    // xorriso rejects an empty or malformed SOURCE_DATE_EPOCH in its environment: set ours.
    await o.run(
      mkisofsArgs({
        prefix: [o.xorriso, '-as', 'mkisofs'],
        root: o.root,
        output: tmp,
        volumeId: o.volumeId,
        epoch: o.epoch,
      }),
      { env: { SOURCE_DATE_EPOCH: String(o.epoch) } },
    );
    const sha256 = await sha256File(tmp);
    const { size } = await stat(tmp);
    if (o.checksum !== false) await writeFile(tmpSum, `${sha256}  ${path.basename(o.output)}\n`);
    await rename(tmp, o.output);
    if (o.checksum !== false) await rename(tmpSum, sumFile);
    return { sha256, size };
  } finally {
    await rm(tmp, { force: true });
    await rm(tmpSum, { force: true });
  }
}
