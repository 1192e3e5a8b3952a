/** Packaging settings read from the build configuration (RPM_BUILDER, RPM_SIGN_KEY, epoch...). */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { BuildConfig } from '../../config/config.ts';
import type { PackageList } from '../../config/content-types.ts';
import { parseSourceDateEpoch } from '../../config/source-date-epoch.ts';
import { TaskError } from '../../engine/task.ts';
import { hasVersionFile, readVersionText } from '../../config/version.ts';
import { RPM_BUILDERS, type RpmBuilder } from './rpmbuild-args.ts';

/** Everything packaging tasks take from the configuration. */
export interface PackagingSettings {
  /** SOURCE_DATE_EPOCH (seconds): RPM build times, file mtimes, repodata revision. */
  readonly epoch: number;
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

/** Time limit of the `git log` reading the commit time (ms). */
const GIT_TIMEOUT_MS = 60_000;

/** SOURCE_DATE_EPOCH from the settings, else the last commit time, else 0. */
export function sourceDateEpoch(config: BuildConfig): number {
  const epoch = parseSourceDateEpoch(config.env.SOURCE_DATE_EPOCH);
  if (epoch !== undefined) return epoch;
  try {
    const out = execFileSync(config.tools.git?.bin ?? 'git', ['log', '-1', '--format=%ct'], {
      cwd: config.root,
      stdio: ['ignore', 'pipe', 'ignore'],
      // A git that hangs (a lock, a network filesystem) must not hang the task definitions.
      timeout: GIT_TIMEOUT_MS,
      killSignal: 'SIGKILL',
    });
    const n = Number(out.toString().trim());
    return Number.isInteger(n) ? n : 0;
  } catch {
    return 0;
  }
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
    const v = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: string }).version ?? '';
    const m = /^(\d+)\.(\d+)/.exec(v);
    return m === null ? '0.0' : `${m[1] ?? '0'}.${m[2] ?? '0'}`;
  } catch {
    return '0.0';
  }
}

export function packagingSettings(config: BuildConfig, list: PackageList): PackagingSettings {
  const builder = (config.env.RPM_BUILDER ?? '') === '' ? 'local' : (config.env.RPM_BUILDER as RpmBuilder);
  if (!RPM_BUILDERS.includes(builder)) {
    throw new TaskError('invalid-input', `RPM_BUILDER='${builder}' is not one of ${RPM_BUILDERS.join(', ')}`, {
      hint: 'Set RPM_BUILDER=local (rpmbuild on this host), docker or podman in .env.',
    });
  }
  const engine = builder === 'local' ? undefined : config.tools[builder];
  const signKey = config.env.RPM_SIGN_KEY ?? '';
  const gnupgHome = config.env.GNUPGHOME ?? '';
  return {
    epoch: sourceDateEpoch(config),
    builder,
    image: (config.env.RPM_BUILDER_IMAGE ?? '') === '' ? 'docker.io/library/centos:7' : (config.env.RPM_BUILDER_IMAGE ?? ''),
    engineBin: engine?.bin ?? builder,
    signKey: signKey === '' ? undefined : signKey,
    gnupgHome: gnupgHome === '' ? undefined : gnupgHome,
    defines: { dist: `.${list.distTag ?? 'el7'}`, short_version: shortVersion(config.root) },
  };
}
