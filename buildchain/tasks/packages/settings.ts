/** Packaging settings read from the build configuration (RPM_BUILDER, RPM_SIGN_KEY, epoch...). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { BuildConfig } from '../../config/config.ts';
import type { PackageList } from '../../config/content-types.ts';
import { buildEpoch, buildEpochKey } from '../../config/build-info.ts';
import { hasVersionFile, readVersionText } from '../../config/version.ts';
import type { RpmBuilder } from './rpmbuild-args.ts';

/** Everything packaging tasks take from the configuration. */
export interface PackagingSettings {
  /**
   * What the build epoch depends on (see `buildEpochKey`), for fingerprints and labels; found
   * without starting a process.
   */
  readonly epochKey: string;
  /** The build epoch (seconds): RPM build times, file mtimes, repodata revision. Call in actions. */
  readonly epoch: () => Promise<number>;
  readonly builder: RpmBuilder;
  /** RPM_BUILDER_IMAGE (container builders only). */
  readonly image: string;
  /** docker/podman binary for container builders. */
  readonly engineBin: string;
  /** RPM_SIGN_KEY, undefined when signing is off. */
  readonly signKey: string | undefined;
  readonly gnupgHome: string | undefined;
  /** rpm macros of local builds: `dist` (e.g. `.el7`) and `short_version` (e.g. `2.4`). */
  readonly defines: Readonly<Record<string, string>>;
}

/** `major.minor` of the project version (`VERSION`, else package.json), e.g. `2.4`. */
export function shortVersion(root: string): string {
  // A VERSION that is there but no readable regular file is an error, not a silent fallback.
  if (hasVersionFile(root)) {
    const text = readVersionText(root);
    const major = /^VERSION_MAJOR=(\d+)$/m.exec(text)?.[1];
    const minor = /^VERSION_MINOR=(\d+)$/m.exec(text)?.[1];
    if (major !== undefined && minor !== undefined) return `${major}.${minor}`;
  }
  try {
    const v =
      (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: string })
        .version ?? '';
    const m = /^(\d+)\.(\d+)/.exec(v);
    return m === null ? '0.0' : `${m[1] ?? '0'}.${m[2] ?? '0'}`;
  } catch {
    return '0.0';
  }
}

/** The packaging settings of `config` (validated when it was loaded). Starts no process. */
export function packagingSettings(config: BuildConfig, list: PackageList): PackagingSettings {
  const { rpmBuilder: builder, rpmBuilderImage, rpmSignKey, gnupgHome } = config.settings;
  const engine = builder === 'local' ? undefined : config.tools[builder];
  return {
    epochKey: buildEpochKey(config),
    epoch: () => buildEpoch(config),
    builder,
    image: rpmBuilderImage,
    engineBin: engine?.bin ?? builder,
    signKey: rpmSignKey,
    gnupgHome,
    defines: { dist: `.${list.distTag ?? 'el7'}`, short_version: shortVersion(config.root) },
  };
}
