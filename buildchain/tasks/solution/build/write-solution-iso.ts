/**
 * Writes the Solution ISO with the platform's ISO writer (`writeIso`: `xorriso -as mkisofs`
 * streamed to a temporary name, hashed, renamed, `SHA256SUM` beside it; a failure leaves
 * neither). Solutions need no implanted isomd5sum: MetalK8s checks them with SHA256SUM.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { writeIso } from '../../../media/iso/write-iso.ts';

/** Options for {@link writeSolutionIso}. */
export interface WriteSolutionIsoOptions {
  readonly root: string;
  readonly output: string;
  readonly volumeId: string;
  readonly epoch: number;
  /** xorriso binary (XORRISO_BIN). */
  readonly xorriso: string;
  readonly signal?: AbortSignal;
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
  await mkdir(path.dirname(o.output), { recursive: true });
  const r = await writeIso({
    root: o.root,
    output: o.output,
    volumeId: o.volumeId,
    epoch: o.epoch,
    mkisofs: [o.xorriso, '-as', 'mkisofs'],
    implantMd5: false,
    ...(o.checksum === false ? { checksumFile: null } : {}),
    ...(o.signal === undefined ? {} : { signal: o.signal }),
  });
  return { sha256: r.sha256, size: r.size };
}
