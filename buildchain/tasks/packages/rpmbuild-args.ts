/**
 * argv builders for rpmbuild / rpmspec, run on this host (`RPM_BUILDER=local`) or inside a
 * container image (`docker` / `podman`). Pure: no processes.
 *
 * Reproducibility (two builds byte-identical): SOURCE_DATE_EPOCH in the environment plus the
 * three macros of {@link REPRODUCIBLE_DEFINES}, and a private `_topdir`.
 */
import type { RpmBuilder } from '../../config/settings.ts';
import { requireRpmMacroValue, requireRpmPath } from '../../lib/text/quote.ts';

/** Where rpmbuild runs: one list, validated with the settings (RPM_BUILDER). */
export { RPM_BUILDERS, type RpmBuilder } from '../../config/settings.ts';

/** Macros making rpmbuild output depend on SOURCE_DATE_EPOCH only. */
export const REPRODUCIBLE_DEFINES: Readonly<Record<string, string>> = {
  use_source_date_epoch_as_buildtime: '1',
  clamp_mtime_to_source_date_epoch: '1',
  _buildhost: 'reproducible',
};

/** Inside a container the topdir is mounted here. */
export const CONTAINER_TOPDIR = '/rpmbuild';

/** What to run, before the builder wraps it. */
export interface RpmCommandOptions {
  /** rpmbuild (or rpmspec) binary; inside a container, the name in the image. */
  readonly bin: string;
  /** Private topdir (absolute, on the host). */
  readonly topdir: string;
  /** Extra macros, e.g. `{ dist: '.el7', short_version: '2.4' }`. */
  readonly defines?: Readonly<Record<string, string>>;
}

/**
 * `--define 'name value'` pairs. The topdir must be a path rpm carries (it reaches sh scripts
 * through rpm's own macros); no value may hold `%` (`%(cmd)` would run a command) or a newline.
 */
function defineArgs(defines: Readonly<Record<string, string>>): string[] {
  return Object.keys(defines)
    .sort()
    .flatMap((k) => {
      const value = defines[k] ?? '';
      if (k === '_topdir') {
        requireRpmPath(
          value,
          'rpmbuild topdir',
          'choose a BUILD_ROOT whose path holds only letters, digits and ._+,:@=/- (no spaces, quotes, $, %)',
        );
      } else {
        requireRpmMacroValue(
          k,
          value,
          `rpm macro ${k}`,
          'macro values come from packages-specs/<osFamily>.yaml (distTag) and VERSION: remove the % or the line break',
        );
      }
      return ['--define', `${k} ${value}`];
    });
}

/**
 * rpmbuild argv (without the builder wrapper): `-bs <spec>` for the SRPM, `--rebuild <srpm>`
 * for binary RPMs. `input` is relative to the topdir (e.g. `SPECS/x.spec`). Local builds get
 * `--nodeps`: the host's rpmdb (Debian's) knows none of the BuildRequires.
 */
export function rpmbuildArgs(
  o: RpmCommandOptions & {
    mode: 'srpm' | 'rpm';
    input: string;
    topdirInArgv: string;
    nodeps: boolean;
  },
): string[] {
  const defines = { _topdir: o.topdirInArgv, ...REPRODUCIBLE_DEFINES, ...(o.defines ?? {}) };
  return [
    o.bin,
    '--quiet',
    ...defineArgs(defines),
    ...(o.nodeps ? ['--nodeps'] : []),
    ...(o.mode === 'srpm' ? ['-bs'] : ['--rebuild']),
    `${o.topdirInArgv}/${o.input}`,
  ];
}

/** `rpmspec -P` argv: the spec with its macros expanded (to read its Source lines). */
export function rpmspecParseArgs(o: RpmCommandOptions & { spec: string; topdirInArgv: string }) {
  return [
    o.bin,
    ...defineArgs({ _topdir: o.topdirInArgv, ...(o.defines ?? {}) }),
    '-P',
    `${o.topdirInArgv}/${o.spec}`,
  ];
}

/** A command to run and its extra environment. */
export interface BuilderCommand {
  readonly argv: string[];
  readonly env: Record<string, string>;
}

/** Options for {@link builderCommand}. */
export interface BuilderOptions {
  readonly builder: RpmBuilder;
  /** docker / podman binary. */
  readonly engineBin?: string;
  /** RPM_BUILDER_IMAGE: an image with rpm-build installed (e.g. an el7 userland). */
  readonly image?: string;
  readonly topdir: string;
  /** SOURCE_DATE_EPOCH (seconds). */
  readonly epoch: number;
}

/**
 * Wraps an rpmbuild/rpmspec command for the builder. `make(topdirInArgv)` builds the inner
 * argv with the topdir as the command will see it (the host path, or `/rpmbuild` in a container).
 * The container runs without network, as the host user's root, removing itself afterwards.
 */
export function builderCommand(
  o: BuilderOptions,
  make: (topdirInArgv: string) => string[],
): BuilderCommand {
  const epoch = String(o.epoch);
  if (o.builder === 'local') {
    return { argv: make(o.topdir), env: { SOURCE_DATE_EPOCH: epoch, LC_ALL: 'C', TZ: 'UTC' } };
  }
  const engine = o.engineBin ?? o.builder;
  const image = o.image ?? 'docker.io/library/centos:7';
  return {
    argv: [
      engine,
      'run',
      '--rm',
      '--network=none',
      '--volume',
      `${o.topdir}:${CONTAINER_TOPDIR}${o.builder === 'podman' ? ':Z' : ''}`,
      '--workdir',
      CONTAINER_TOPDIR,
      '--env',
      `SOURCE_DATE_EPOCH=${epoch}`,
      '--env',
      'LC_ALL=C',
      '--env',
      'TZ=UTC',
      image,
      ...make(CONTAINER_TOPDIR),
    ],
    env: {},
  };
}

/**
 * The `SourceN:` / `PatchN:` file names of an expanded spec (`rpmspec -P` output): the URL's
 * last path segment, as rpmbuild looks them up in SOURCES.
 */
export function specSourceFiles(expandedSpec: string): string[] {
  const out: string[] = [];
  for (const line of expandedSpec.split('\n')) {
    const m = /^(Source|Patch)\d*\s*:\s*(\S+)\s*$/i.exec(line);
    if (m?.[2] === undefined) continue;
    // `URL#/name` renames the download (rpm's convention); otherwise the URL's basename.
    const url = m[2].includes('#/') ? (m[2].split('#/').pop() ?? '') : m[2].replace(/#.*$/, '');
    const base = url.split('/').pop();
    if (base !== undefined && base !== '') out.push(base);
  }
  return out;
}
