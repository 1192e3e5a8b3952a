/**
 * The cheap check made before any ISO reader (checkisomd5, isoinfo, bsdtar) is pointed at a
 * file: a regular file (never a FIFO or a device, which block or never end), large enough for
 * the ISO 9660 system area and volume descriptors, a whole number of 2048-byte sectors, with
 * the primary volume descriptor (`\x01CD001\x01`) at sector 16. checkisomd5 spins forever on
 * an empty file or a text file; after this check it only ever sees an ISO 9660 image.
 */
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { TaskError } from '../../engine/task.ts';
import { checkRegularFile } from '../../lib/fs/read-bounded.ts';

/** ISO 9660 logical sector size (bytes). */
export const ISO_SECTOR_SIZE = 2048;
/**
 * Smallest image accepted (bytes): the 16-sector system area, the primary volume descriptor
 * and the volume descriptor set terminator.
 */
export const ISO_MIN_BYTES = 18 * ISO_SECTOR_SIZE;
/** Byte offset of the primary volume descriptor (sector 16). */
const PVD_OFFSET = 16 * ISO_SECTOR_SIZE;
/** Type 1 (primary), standard identifier `CD001`, version 1. */
const PVD_SIGNATURE = Buffer.from('\x01CD001\x01', 'latin1');
/** Offset in the PVD of the volume space size (sectors, little-endian half of a both-endian pair). */
const VOLUME_SIZE_OFFSET = 80;

/** Options of {@link checkIsoImage}. */
export interface CheckIsoImageOptions {
  /** How the message names the file (default: its path). */
  readonly what?: string;
  /** The fix shown as the hint. */
  readonly fix?: string;
}

function readAt(file: string, offset: number, length: number): Buffer {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const buf = Buffer.alloc(length);
    const n = readSync(fd, buf, 0, length, offset);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/**
 * Checks that `file` (symlinks followed) looks like an ISO 9660 image, before any tool reads
 * it. Throws TaskError `invalid-input` (or `missing-file-dep`) naming the file and what is
 * wrong. Returns its size in bytes.
 */
export function checkIsoImage(file: string, opts: CheckIsoImageOptions = {}): number {
  const what = opts.what ?? file;
  const hint = opts.fix ?? 'point it at an ISO 9660 image file (.iso)';
  const size = checkRegularFile(file, { maxBytes: Number.MAX_SAFE_INTEGER, what, fix: hint });
  const notIso = (why: string): never => {
    throw new TaskError('invalid-input', `${what} is not an ISO 9660 image: ${why}`, { hint });
  };
  if (size < ISO_MIN_BYTES) {
    notIso(
      `${size} bytes, an image has at least ${ISO_MIN_BYTES} (${ISO_MIN_BYTES / ISO_SECTOR_SIZE} sectors)`,
    );
  }
  if (size % ISO_SECTOR_SIZE !== 0) {
    notIso(`${size} bytes is not a whole number of ${ISO_SECTOR_SIZE}-byte sectors`);
  }
  const pvd = readAt(file, PVD_OFFSET, VOLUME_SIZE_OFFSET + 4);
  if (
    pvd.length < VOLUME_SIZE_OFFSET + 4 ||
    !pvd.subarray(0, PVD_SIGNATURE.length).equals(PVD_SIGNATURE)
  ) {
    notIso(`no primary volume descriptor (CD001) at sector 16 (byte ${PVD_OFFSET})`);
  }
  const recorded = pvd.readUInt32LE(VOLUME_SIZE_OFFSET) * ISO_SECTOR_SIZE;
  if (recorded > size) {
    notIso(`truncated: its volume descriptor says ${recorded} bytes, the file has ${size}`);
  }
  return size;
}
