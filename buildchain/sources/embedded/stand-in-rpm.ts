/**
 * Stand-in RPMs: a tiny noarch package per listed package, with the listed name, version and
 * release, built reproducibly with rpmbuild (toolchain.md §1.2) under a private `_topdir`.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execDirectWith } from '../../engine/exec/run-command.ts';
import {
  requireRpmName,
  requireRpmPath,
  requireRpmVersion,
  rpmMacroEscape,
  shellQuote,
} from '../../lib/text/quote.ts';
import { TaskError } from '../../engine/task.ts';
import type { StandInRpm } from './stand-in-types.ts';
import { writeSeededFile } from './scale-content.ts';

/** Fixed build time of stand-in RPMs (SOURCE_DATE_EPOCH), also their file mtime. */
export const STAND_IN_EPOCH = 1_600_000_000;
/** Bump when the spec template changes (part of the seed stamp; a new format rebuilds them all). */
export const STAND_IN_RPM_FORMAT = 2;

/** `name` or `name OP version` (`python(abi) = 2.7`, `sos >= 3.5`). */
const RPM_DEPENDENCY = /^[A-Za-z0-9_][A-Za-z0-9_.+()/:-]*(?: (?:<|<=|=|>=|>) [A-Za-z0-9_.+~:-]+)?$/;

/** Throws unless `value` is a plain RPM dependency (no macro, no rich dependency). */
export function requireRpmDependency(value: string, what: string): string {
  if (!RPM_DEPENDENCY.test(value))
    throw new TaskError('invalid-input', `${what} '${value}' is not an RPM dependency`, {
      hint: 'write NAME or NAME OP VERSION (OP one of < <= = >= >), e.g. python(abi) = 2.7',
    });
  return value;
}

/** `<name>-<version>-<release>.noarch.rpm` */
export function rpmFileName(rpm: StandInRpm): string {
  return `${rpm.name}-${rpm.version}-${rpm.release}.noarch.rpm`;
}

/** What to do about a path rpmbuild cannot carry. */
export const RPM_PATH_FIX =
  'choose a BUILD_ROOT whose path holds only letters, digits and ._+,:@=/- (no spaces, quotes, $, %), ' +
  'or use SOURCES=site / SOURCES=upstream (no stand-in RPMs are built then)';

/**
 * The spec of a stand-in package. Pure. Name, version and release are checked (RPM grammar, no
 * `%`); the only shell words are fixed paths under the quoted `$RPM_BUILD_ROOT`.
 */
export function standInSpec(rpm: StandInRpm): string {
  const name = requireRpmName(rpm.name, 'stand-in RPM name');
  const version = requireRpmVersion(rpm.version, `version of stand-in RPM ${name}`);
  const release = requireRpmVersion(rpm.release, `release of stand-in RPM ${name}`);
  const dir = '/usr/share/metalk8s-stand-in';
  const file = `${dir}/${name}`;
  const text = (value: string): string =>
    rpmMacroEscape(value, 'stand-in RPM text', 'use an RPM name');
  const payload = (rpm.payloadBytes ?? 0) > 0;
  const deps = [
    ...(rpm.provides ?? []).map(
      (d) => `Provides:       ${requireRpmDependency(d, `provide of stand-in RPM ${name}`)}`,
    ),
    ...(rpm.requires ?? []).map(
      (d) => `Requires:       ${requireRpmDependency(d, `requirement of stand-in RPM ${name}`)}`,
    ),
  ];
  return [
    `Name:           ${name}`,
    `Version:        ${version}`,
    `Release:        ${release}`,
    ...deps,
    `Summary:        ${text(`Stand-in for ${name} (metalk8s-buildchain embedded mirror)`)}`,
    'License:        Apache-2.0',
    'BuildArch:      noarch',
    '',
    // Release scale: a payload of seeded bytes (incompressible: gzip level 1 is enough).
    ...(payload
      ? [
          'Source0:        payload.bin',
          '%global _binary_payload w1.gzdio',
          '%global __os_install_post %{nil}',
        ]
      : []),
    '',
    '%description',
    text(
      `Stand-in package built by the metalk8s-buildchain embedded mirror; not the real ${name}.`,
    ),
    '',
    '%prep',
    '%build',
    '%install',
    `mkdir -p "$RPM_BUILD_ROOT"${text(shellQuote(dir))}`,
    `echo ${text(shellQuote(`stand-in for ${name}-${version}-${release}`))} > "$RPM_BUILD_ROOT"${text(shellQuote(file))}`,
    ...(payload
      ? [`install -m 644 %{SOURCE0} "$RPM_BUILD_ROOT"${text(shellQuote(`${file}.bin`))}`]
      : []),
    '',
    '%files',
    file,
    ...(payload ? [`${file}.bin`] : []),
    '',
  ].join('\n');
}

/**
 * argv of the reproducible rpmbuild (after the binary). Pure. The topdir becomes the `_topdir`
 * macro and, through rpm's own macros, part of sh scripts: it is refused unless rpm can carry it.
 */
export function rpmbuildArgs(topdir: string, spec: string): string[] {
  requireRpmPath(topdir, 'rpmbuild topdir', RPM_PATH_FIX);
  return [
    '--define',
    `_topdir ${topdir}`,
    '--define',
    `_tmppath ${path.join(topdir, 'tmp')}`,
    '--define',
    'use_source_date_epoch_as_buildtime 1',
    '--define',
    'clamp_mtime_to_source_date_epoch 1',
    '--define',
    '_buildhost reproducible',
    '--quiet',
    '-bb',
    spec,
  ];
}

/** Options for {@link buildStandInRpm}. */
export interface BuildRpmOptions {
  /** Scratch directory (a private `_topdir` per package is made under it). */
  readonly workDir: string;
  /** Directory receiving the RPM (written under a temp name, then renamed). */
  readonly destDir: string;
  readonly rpmbuildBin?: string;
  readonly signal?: AbortSignal;
  /** Seed of release-scale payloads (see scale-content.ts). */
  readonly seed?: string;
}

/** Builds one stand-in RPM into `destDir`; returns its path. */
export async function buildStandInRpm(rpm: StandInRpm, opts: BuildRpmOptions): Promise<string> {
  const topdir = path.join(opts.workDir, `${rpm.name}-${rpm.version}-${rpm.release}`);
  // Checked before anything is written (rpmbuildArgs checks again).
  requireRpmPath(topdir, 'rpmbuild topdir', RPM_PATH_FIX);
  const specText = standInSpec(rpm);
  await rm(topdir, { recursive: true, force: true });
  for (const d of ['SPECS', 'BUILD', 'RPMS', 'SRPMS', 'BUILDROOT', 'tmp']) {
    await mkdir(path.join(topdir, d), { recursive: true });
  }
  const spec = path.join(topdir, 'SPECS', `${rpm.name}.spec`);
  await writeFile(spec, specText);
  if ((rpm.payloadBytes ?? 0) > 0) {
    await mkdir(path.join(topdir, 'SOURCES'), { recursive: true });
    const label = `rpm/${rpm.name}-${rpm.version}-${rpm.release}`;
    await writeSeededFile(
      path.join(topdir, 'SOURCES', 'payload.bin'),
      opts.seed ?? '',
      label,
      rpm.payloadBytes ?? 0,
    );
  }
  await execDirectWith(opts.signal)(
    [opts.rpmbuildBin ?? 'rpmbuild', ...rpmbuildArgs(topdir, spec)],
    {
      env: { SOURCE_DATE_EPOCH: String(STAND_IN_EPOCH) },
    },
  );
  const built = path.join(topdir, 'RPMS', 'noarch', rpmFileName(rpm));
  const dest = path.join(opts.destDir, rpmFileName(rpm));
  await mkdir(opts.destDir, { recursive: true });
  // Same filesystem: the rename is atomic, no partial RPM is ever visible under its name.
  await rename(built, dest);
  await rm(topdir, { recursive: true, force: true });
  return dest;
}

/** Runs `work` over `items`, `limit` at a time; the first failure rejects (others finish). */
export async function runLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (next < items.length && errors.length === 0) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (e) {
        errors.push(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length > 0)
    throw errors[0] instanceof Error ? errors[0] : new Error(String(errors[0]));
}
