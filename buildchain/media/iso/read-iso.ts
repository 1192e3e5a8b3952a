/**
 * Reading an ISO without mounting it: bsdtar (Rock Ridge: names, modes, symlinks, hard links)
 * for listing and extraction, isoinfo for the volume descriptor and ISO 9660 primary names
 * (`/PRODUCT.TXT;1`, as Salt reads it), checkisomd5 for the implanted checksum.
 * Every reader first checks that the file is an ISO 9660 image (lib/fs/iso-image.ts: a FIFO,
 * an empty or a text file would make them block or spin), and runs with a time limit
 * proportional to the image's size.
 */
import { mkdir } from 'node:fs/promises';
import { runCommandBytes, type ExecBytesResult } from '../../engine/exec/run-command.ts';
import { TaskError } from '../../engine/task.ts';
import { checkIsoImage } from './iso-image.ts';
import { parseIsoinfoD as parseIsoDescriptor } from './isoinfo-listing.ts';

/** Time limit of a reader on an image of `size` bytes (ms): 2 minutes plus 5 MiB/s. */
export function readerTimeoutMs(size: number): number {
  return 120_000 + Math.ceil(size / (5 * 1024 * 1024)) * 1000;
}

/** Binaries used by the readers (defaults: names on PATH). */
export interface IsoReaderTools {
  readonly bsdtar?: string;
  readonly isoinfo?: string;
  readonly checkisomd5?: string;
}

/** Runs a reader on `iso` (checked first: see {@link checkIsoImage}) with its time limit. */
async function exec(
  iso: string,
  argv: readonly string[],
  opts: { allowExit?: readonly number[] } = {},
): Promise<{ stdout: Buffer; stderr: string; code: number }> {
  const bin = argv[0];
  if (bin === undefined) throw new TaskError('internal-error', 'empty argv');
  const timeout = readerTimeoutMs(checkIsoImage(iso));
  let r: ExecBytesResult;
  try {
    r = await runCommandBytes(argv, {
      cwd: process.cwd(),
      signal: new AbortController().signal,
      reject: false,
      timeoutMs: timeout,
      onTimeout: () =>
        new TaskError(
          'command-failed',
          `${bin} timed out after ${Math.round(timeout / 1000)} s on ${iso}`,
          {
            argv,
            hint: 'a reader takes far less on a sound image: check the file (and the disk it is on)',
          },
        ),
    });
  } catch (err) {
    if (err instanceof TaskError && err.reason === 'tool-not-found') {
      throw new TaskError('tool-not-found', `${bin} not found`, {
        hint: 'Run npm run setup, or set the matching *_BIN.',
      });
    }
    throw err;
  }
  if (r.exitCode === 0 || opts.allowExit?.includes(r.exitCode) === true) {
    return { stdout: r.stdout, stderr: r.stderr, code: r.exitCode };
  }
  throw new TaskError('command-failed', `${bin} failed (exit ${r.exitCode})`, {
    argv,
    exitCode: r.exitCode,
    stderrTail: r.stderr.trim().split('\n').slice(-10),
  });
}

/** Paths in the ISO (Rock Ridge names, no leading `/`, directories included), sorted. */
export async function listIso(iso: string, tools: IsoReaderTools = {}): Promise<string[]> {
  const { stdout } = await exec(iso, [tools.bsdtar ?? 'bsdtar', '-tf', iso]);
  return stdout
    .toString('utf8')
    .split('\n')
    .filter((l) => l !== '' && l !== '.' && l !== './')
    .map((l) => l.replace(/^\.\//, ''))
    .sort();
}

/** Extracts the whole ISO into `dest` (created), keeping modes, symlinks and hard links. */
export async function extractIso(
  iso: string,
  dest: string,
  tools: IsoReaderTools = {},
): Promise<void> {
  checkIsoImage(iso);
  await mkdir(dest, { recursive: true });
  await exec(iso, [tools.bsdtar ?? 'bsdtar', '-xf', iso, '-C', dest]);
}

/** One file's bytes by its Rock Ridge path (e.g. `product.txt`). */
export async function readIsoFile(
  iso: string,
  member: string,
  tools: IsoReaderTools = {},
): Promise<Buffer> {
  const { stdout } = await exec(iso, [
    tools.bsdtar ?? 'bsdtar',
    '-xOf',
    iso,
    member.replace(/^\//, ''),
  ]);
  return stdout;
}

/** One file by its ISO 9660 primary name, e.g. `/PRODUCT.TXT;1` (what Salt reads). */
export async function readIsoFilePrimary(
  iso: string,
  isoPath: string,
  tools: IsoReaderTools = {},
): Promise<Buffer> {
  const { stdout } = await exec(iso, [tools.isoinfo ?? 'isoinfo', '-i', iso, '-x', isoPath]);
  return stdout;
}

/** From `isoinfo -d`. */
export interface IsoVolumeInfo {
  readonly volumeId: string;
  readonly rockRidge: boolean;
  readonly joliet: boolean;
  /** Logical blocks × block size, in bytes. */
  readonly volumeSize: number;
}

/** Parses `isoinfo -d` output (the one parser: {@link parseIsoDescriptor}). */
export function parseIsoinfoD(text: string): IsoVolumeInfo {
  const d = parseIsoDescriptor(text);
  return {
    volumeId: d.volumeId,
    rockRidge: d.rockRidge,
    joliet: d.joliet,
    volumeSize: d.volumeBytes,
  };
}

export async function isoVolumeInfo(
  iso: string,
  tools: IsoReaderTools = {},
): Promise<IsoVolumeInfo> {
  const { stdout } = await exec(iso, [tools.isoinfo ?? 'isoinfo', '-d', '-i', iso]);
  return parseIsoinfoD(stdout.toString('utf8'));
}

/** Result of checkisomd5. */
export type IsoMd5Check = 'PASS' | 'FAIL' | 'NA';

/** Parses checkisomd5's output: exit 1 means FAIL or NA, the text tells which. */
export function parseCheckisomd5(output: string, exitCode: number): IsoMd5Check {
  const m = /the result is: (PASS|FAIL|NA)/.exec(output);
  if (m?.[1] === 'PASS' || m?.[1] === 'FAIL' || m?.[1] === 'NA') return m[1];
  if (/No checksum information|NA\b/i.test(output)) return 'NA';
  return exitCode === 0 ? 'PASS' : 'FAIL';
}

export async function checkIsoMd5(iso: string, tools: IsoReaderTools = {}): Promise<IsoMd5Check> {
  const r = await exec(iso, [tools.checkisomd5 ?? 'checkisomd5', iso], { allowExit: [1, 2] });
  return parseCheckisomd5(`${r.stdout.toString('utf8')}\n${r.stderr}`, r.code);
}
