/**
 * The mkisofs command line of the MetalK8s ISO (reference §4.3), for `xorriso -as mkisofs`
 * (default) or another mkisofs-compatible writer (MKISOFS_BIN). With xorriso the modes in the
 * image are normalised (umask-independent); other writers keep the tree's modes.
 */
import { TaskError } from '../../engine/task.ts';

/** ISO 9660 limit on the volume id, in bytes. */
export const MAX_VOLUME_ID_BYTES = 32;

/** Options for {@link mkisofsArgs}. */
export interface MkisofsArgsOptions {
  /** argv prefix of the writer: `['xorriso', '-as', 'mkisofs']` or `['/usr/bin/genisoimage']`. */
  readonly prefix: readonly string[];
  /** Directory that becomes `/` of the ISO. */
  readonly root: string;
  /** `-output` path; `-` (or undefined) writes the image to stdout. */
  readonly output?: string;
  readonly volumeId: string;
  /**
   * Seconds since the epoch used for every date in the image (xorriso only: other writers have
   * no such option, so their output is not reproducible).
   */
  readonly epoch?: number;
}

/** True when the prefix runs xorriso (the dating flags exist only there). */
export function isXorriso(prefix: readonly string[]): boolean {
  const bin = prefix[0] ?? '';
  return /(^|\/)xorriso[^/]*$/.test(bin) || prefix.includes('-as');
}

/** `YYYYMMDDhhmmss00` in UTC, the format of xorriso's `--modification-date`. */
export function isoDate(epoch: number): string {
  const d = new Date(epoch * 1000);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return (
    p(d.getUTCFullYear(), 4) +
    p(d.getUTCMonth() + 1) +
    p(d.getUTCDate()) +
    p(d.getUTCHours()) +
    p(d.getUTCMinutes()) +
    p(d.getUTCSeconds()) +
    '00'
  );
}

/** Throws `invalid-input` when the volume id does not fit ISO 9660's 32 bytes. */
export function checkVolumeId(volumeId: string): void {
  const bytes = Buffer.byteLength(volumeId, 'utf8');
  if (volumeId === '' || bytes > MAX_VOLUME_ID_BYTES) {
    throw new TaskError(
      'invalid-input',
      `ISO volume id '${volumeId}' is ${bytes} bytes; it must be 1 to ${MAX_VOLUME_ID_BYTES}`,
      {
        hint: 'Shorten PROJECT_NAME or the version suffix in VERSION (volume id: "<PROJECT_NAME> <VERSION>").',
      },
    );
  }
}

/** The full argv (prefix included). Checks the volume id. */
export function mkisofsArgs(opts: MkisofsArgsOptions): string[] {
  checkVolumeId(opts.volumeId);
  const argv = [...opts.prefix];
  if (opts.epoch !== undefined && isXorriso(opts.prefix)) {
    argv.push(
      '--modification-date=' + isoDate(opts.epoch),
      '--set_all_file_dates',
      `=${opts.epoch}`,
    );
  }
  argv.push(
    '-output',
    opts.output ?? '-',
    '-quiet',
    '-rock',
    '-joliet',
    '-joliet-long',
    '-full-iso9660-filenames',
    '-volid',
    opts.volumeId,
    '-iso-level',
    '3',
    '-gid',
    '0',
    '-uid',
    '0',
    '-input-charset',
    'utf-8',
    '-output-charset',
    'utf-8',
    opts.root,
  );
  if (isXorriso(opts.prefix)) {
    // isomd5sum miscounts its fragment sums on images under ~720 KiB (checkisomd5 then says
    // FAIL even for implantisomd5's own output): 1 MiB of zero padding keeps any ISO above.
    argv.push('--', '-padding', '1m', ...NORMALISE_MODES);
  }
  return argv;
}

/**
 * xorriso commands (after `--`) making the modes in the image independent of the umask the
 * tree was written under: directories 0755, files 0644 or 0755 (when any x bit is set), no
 * setuid/setgid/sticky bits; symlinks are left alone. Under umask 022 these are the modes the
 * tree already has, so the image is byte-identical to one written without them.
 */
export const NORMALISE_MODES: readonly string[] = [
  '-find',
  '/',
  '-type',
  'd',
  '-exec',
  'chmod',
  '0755',
  '--',
  // mkisofs_r: r for all, w for none, x for all when any x; then the owner's w back.
  '-find',
  '/',
  '-type',
  'f',
  '-exec',
  'mkisofs_r',
  '--',
  '-find',
  '/',
  '-type',
  'f',
  '-exec',
  'chmod',
  'u+w',
  '--',
];
