/**
 * Stand-in RPMs: a tiny noarch package per listed package, with the listed name, version and
 * release, built reproducibly with rpmbuild (toolchain.md §1.2) under a private `_topdir`.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadExeca } from '../../engine/exec/lazy-execa.ts';
import type { StandInRpm } from './content.ts';

/** Fixed build time of stand-in RPMs (SOURCE_DATE_EPOCH), also their file mtime. */
export const STAND_IN_EPOCH = 1_600_000_000;
/** Bump when the spec template changes (part of the seed stamp). */
export const STAND_IN_RPM_FORMAT = 1;

/** `<name>-<version>-<release>.noarch.rpm` */
export function rpmFileName(rpm: StandInRpm): string {
  return `${rpm.name}-${rpm.version}-${rpm.release}.noarch.rpm`;
}

/** The spec of a stand-in package. Pure. */
export function standInSpec(rpm: StandInRpm): string {
  const file = `/usr/share/metalk8s-stand-in/${rpm.name}`;
  return [
    `Name:           ${rpm.name}`,
    `Version:        ${rpm.version}`,
    `Release:        ${rpm.release}`,
    `Summary:        Stand-in for ${rpm.name} (metalk8s-buildchain embedded mirror)`,
    'License:        Apache-2.0',
    'BuildArch:      noarch',
    '',
    '%description',
    `Stand-in package built by the metalk8s-buildchain embedded mirror; not the real ${rpm.name}.`,
    '',
    '%prep',
    '%build',
    '%install',
    'mkdir -p %{buildroot}/usr/share/metalk8s-stand-in',
    `echo 'stand-in for ${rpm.name}-${rpm.version}-${rpm.release}' > %{buildroot}${file}`,
    '',
    '%files',
    file,
    '',
  ].join('\n');
}

/** argv of the reproducible rpmbuild (after the binary). Pure. */
export function rpmbuildArgs(topdir: string, spec: string): string[] {
  return [
    '--define', `_topdir ${topdir}`,
    '--define', `_tmppath ${path.join(topdir, 'tmp')}`,
    '--define', 'use_source_date_epoch_as_buildtime 1',
    '--define', 'clamp_mtime_to_source_date_epoch 1',
    '--define', '_buildhost reproducible',
    '--quiet', '-bb', spec,
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
}

/** Builds one stand-in RPM into `destDir`; returns its path. */
export async function buildStandInRpm(rpm: StandInRpm, opts: BuildRpmOptions): Promise<string> {
  const topdir = path.join(opts.workDir, `${rpm.name}-${rpm.version}-${rpm.release}`);
  await rm(topdir, { recursive: true, force: true });
  for (const d of ['SPECS', 'BUILD', 'RPMS', 'SRPMS', 'BUILDROOT', 'tmp']) {
    await mkdir(path.join(topdir, d), { recursive: true });
  }
  const spec = path.join(topdir, 'SPECS', `${rpm.name}.spec`);
  await writeFile(spec, standInSpec(rpm));
  const { execa } = await loadExeca();
  await execa(opts.rpmbuildBin ?? 'rpmbuild', rpmbuildArgs(topdir, spec), {
    env: { SOURCE_DATE_EPOCH: String(STAND_IN_EPOCH) },
    cancelSignal: opts.signal,
    stdin: 'ignore',
  });
  const built = path.join(topdir, 'RPMS', 'noarch', rpmFileName(rpm));
  const dest = path.join(opts.destDir, rpmFileName(rpm));
  await mkdir(opts.destDir, { recursive: true });
  // Same filesystem: the rename is atomic, no partial RPM is ever visible under its name.
  await rename(built, dest);
  await rm(topdir, { recursive: true, force: true });
  return dest;
}

/** Runs `work` over `items`, `limit` at a time; the first failure rejects (others finish). */
export async function runLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
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
  if (errors.length > 0) throw errors[0] instanceof Error ? errors[0] : new Error(String(errors[0]));
}
