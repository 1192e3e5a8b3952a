/**
 * The typed settings: every `.env` key that is more than a tool path, parsed and validated once
 * when the configuration is loaded. A bad value is a UsageError `invalid-env` (exit 2, nothing
 * ran) whose message starts with the key; task factories read the typed fields only.
 */
import { UsageError } from '../engine/failures.ts';
import { BuildCacheSettingError, parseBuildCache, type BuildCacheSettings } from './build-cache.ts';
import { commandTimeoutMs } from './command-timeout.ts';
import { MirrorSettingsError, parseMirrorSettings, type MirrorSettings } from './mirrors.ts';
import { checkSourceDateEpoch } from './source-date-epoch.ts';
import { httpTimeoutMs, proxySettings } from './http-settings.ts';
import type { ProxySettings } from '../lib/http/proxy.ts';

/** Where upstream images and packages come from; see `SOURCES` in .env.example. */
export type SourcesKind = 'embedded' | 'upstream' | 'site';
/** Where local container images are built (IMAGE_BUILDER). */
export type ImageBuilder = 'buildah' | 'podman' | 'docker';
/** Where RPMs are built (RPM_BUILDER): this host, or rpmbuild in a docker/podman container. */
export type RpmBuilder = 'local' | 'docker' | 'podman';
/** Accepted RPM_BUILDER values. */
export const RPM_BUILDERS: readonly RpmBuilder[] = ['local', 'docker', 'podman'];

/** The Vagrant development cluster settings (VAGRANT_*, SSH_KEYGEN_BIN). */
export interface VagrantSettingsValues {
  readonly provider: string;
  /** VAGRANT_UP_ARGS as written ('' = the default); split by the vagrant tasks. */
  readonly upArgs: string;
  readonly snapshotName: string;
  readonly box: string;
  /** Memory of each VM (MiB). */
  readonly memoryMiB: number;
  readonly cpus: number;
  /** Extra nodes defined in the Vagrantfile. */
  readonly nodes: number;
  readonly sshKeygenBin: string;
}

/** The validated settings (see .env.example for each key). Empty strings are `undefined`. */
export interface Settings {
  /** PROJECT_NAME (default `MetalK8s`): letters, digits, `.`, `_` and `-` only. */
  readonly projectName: string;
  /** SOURCES (default `embedded`). */
  readonly sources: SourcesKind;
  /** SOURCE_DATE_EPOCH (seconds), undefined when unset: the build epoch then defaults lazily. */
  readonly sourceDateEpoch: number | undefined;
  /** COMMAND_TIMEOUT in ms (0: no limit). */
  readonly commandTimeoutMs: number;
  /** REGISTRY_MIRRORS, INSECURE_REGISTRIES, REGISTRY_AUTH_FILE, PACKAGE_MIRRORS. */
  readonly mirrors: MirrorSettings;
  /** HTTP_TIMEOUT in ms: the longest wait for a connection or for the next byte of an answer. */
  readonly httpTimeoutMs: number;
  /** HTTPS_PROXY, HTTP_PROXY, NO_PROXY (and their lower-case spellings in the environment). */
  readonly proxies: ProxySettings;
  /** ALLOW_UNPINNED_IMAGES=true. */
  readonly allowUnpinnedImages: boolean;
  readonly imageBuilder: ImageBuilder;
  /** IMAGE_PULL_CONNECTIONS: concurrent blob downloads of one build (>= 1). */
  readonly imagePullConnections: number;
  readonly rpmBuilder: RpmBuilder;
  readonly rpmBuilderImage: string;
  readonly rpmSignKey: string | undefined;
  readonly gnupgHome: string | undefined;
  readonly isoSignKey: string | undefined;
  /** ISO_ROOT_STRAYS: what to do with files under the ISO root that no task produced. */
  readonly isoRootStrays: 'remove' | 'fail';
  /** STAND_IN_SCALE: size of the embedded mirror's stand-ins (`release`: 2.4's real sizes). */
  readonly standInScale: 'small' | 'release';
  /** ISO_VERIFY_PATH as written (relative to the repository), undefined for the built ISO. */
  readonly isoVerifyPath: string | undefined;
  readonly artifactsEventLog: string | undefined;
  readonly artifactsCompareTo: string | undefined;
  readonly vagrant: VagrantSettingsValues;
  /** BUILD_CACHE, BUILD_CACHE_MODE: undefined without a cache (docs/cache.md). */
  readonly buildCache: BuildCacheSettings | undefined;
}

type Values = Readonly<Record<string, string | undefined>>;

function text(values: Values, key: string): string {
  return (values[key] ?? '').trim();
}

function optional(values: Values, key: string): string | undefined {
  const v = values[key] ?? '';
  return v === '' ? undefined : v;
}

function invalid(message: string, hint: string): never {
  throw new UsageError('invalid-env', message, hint);
}

const SOURCES_KINDS: readonly SourcesKind[] = ['embedded', 'upstream', 'site'];

function sources(values: Values): SourcesKind {
  const raw = values.SOURCES ?? '';
  const kind = raw === '' ? 'embedded' : raw;
  if ((SOURCES_KINDS as readonly string[]).includes(kind)) return kind as SourcesKind;
  return invalid(
    `SOURCES=${kind} is not one of ${SOURCES_KINDS.join(', ')}`,
    'fix SOURCES in .env or the environment',
  );
}

/** The check product.txt makes when it is written (sourced by sh, grepped by Salt), made at load. */
function projectName(values: Values): string {
  const name = optional(values, 'PROJECT_NAME') ?? 'MetalK8s';
  if (/^[A-Za-z0-9._-]+$/.test(name)) return name;
  return invalid(
    `PROJECT_NAME '${name}' must match [A-Za-z0-9._-]+`,
    'product.txt is sourced by sh and grepped by Salt (^NAME=...$): pick a plain name.',
  );
}

function imageBuilder(values: Values): ImageBuilder {
  const raw = values.IMAGE_BUILDER ?? '';
  const builder = raw === '' ? 'buildah' : raw;
  if (builder === 'buildah' || builder === 'podman' || builder === 'docker') return builder;
  return invalid(
    `IMAGE_BUILDER=${builder} is not buildah, podman or docker`,
    'set IMAGE_BUILDER to buildah (default), podman or docker in .env',
  );
}

function imagePullConnections(values: Values): number {
  const raw = values.IMAGE_PULL_CONNECTIONS ?? '';
  if (raw === '') return 4;
  const n = Number(raw);
  if (Number.isInteger(n) && n >= 1) return n;
  return invalid(
    `IMAGE_PULL_CONNECTIONS=${raw} is not a positive integer`,
    'set IMAGE_PULL_CONNECTIONS to a number of connections (default 4) in .env, or leave it empty',
  );
}

function rpmBuilder(values: Values): RpmBuilder {
  const raw = values.RPM_BUILDER ?? '';
  const builder = raw === '' ? 'local' : raw;
  if ((RPM_BUILDERS as readonly string[]).includes(builder)) return builder as RpmBuilder;
  return invalid(
    `RPM_BUILDER='${builder}' is not one of ${RPM_BUILDERS.join(', ')}`,
    'Set RPM_BUILDER=local (rpmbuild on this host), docker or podman in .env.',
  );
}

function isoRootStrays(values: Values): 'remove' | 'fail' {
  const raw = values.ISO_ROOT_STRAYS ?? '';
  if (raw === '' || raw === 'remove') return 'remove';
  if (raw === 'fail') return 'fail';
  return invalid(
    `ISO_ROOT_STRAYS=${raw} is not remove or fail`,
    'set ISO_ROOT_STRAYS to remove (default) or fail in .env',
  );
}

function standInScale(values: Values): 'small' | 'release' {
  const raw = text(values, 'STAND_IN_SCALE');
  if (raw === '' || raw === 'small') return 'small';
  if (raw === 'release') return 'release';
  return invalid(
    `STAND_IN_SCALE=${raw} is not small or release`,
    'set STAND_IN_SCALE to small (default: tiny stand-ins) or release (the sizes of a MetalK8s 2.4 release) in .env',
  );
}

function allowUnpinned(values: Values): boolean {
  const raw = text(values, 'ALLOW_UNPINNED_IMAGES');
  if (raw === '' || raw === 'false') return false;
  if (raw === 'true') return true;
  return invalid(
    `ALLOW_UNPINNED_IMAGES=${raw} is not true or false`,
    'set ALLOW_UNPINNED_IMAGES to true or false (default) in .env',
  );
}

function mirrors(values: Values): MirrorSettings {
  const env: Record<string, string> = {};
  for (const key of [
    'REGISTRY_MIRRORS',
    'INSECURE_REGISTRIES',
    'REGISTRY_AUTH_FILE',
    'PACKAGE_MIRRORS',
  ]) {
    env[key] = values[key] ?? '';
  }
  try {
    return parseMirrorSettings(env);
  } catch (err) {
    if (!(err instanceof MirrorSettingsError)) throw err;
    return invalid(err.message, `Fix ${err.key} in .env (format: .env.example, docs/mirror.md).`);
  }
}

function buildCache(values: Values, m: MirrorSettings): BuildCacheSettings | undefined {
  try {
    return parseBuildCache(
      values.BUILD_CACHE ?? '',
      values.BUILD_CACHE_MODE ?? '',
      m.insecureRegistries,
    );
  } catch (err) {
    if (!(err instanceof BuildCacheSettingError)) throw err;
    return invalid(err.message, err.hint);
  }
}

function wholeNumber(values: Values, key: string, fallback: number): number {
  const raw = values[key] ?? '';
  if (raw === '') return fallback;
  if (/^\d+$/.test(raw)) return Number(raw);
  return invalid(`${key}=${raw} is not a whole number`, `set ${key} to e.g. ${String(fallback)}`);
}

function vagrant(values: Values): VagrantSettingsValues {
  const or = (key: string, fallback: string): string => optional(values, key) ?? fallback;
  return {
    provider: or('VAGRANT_PROVIDER', 'virtualbox'),
    upArgs: values.VAGRANT_UP_ARGS ?? '',
    snapshotName: or('VAGRANT_SNAPSHOT_NAME', 'bootstrap.autosnapshot'),
    box: or('VAGRANT_BOX', 'centos/7'),
    memoryMiB: wholeNumber(values, 'VAGRANT_MEMORY', 4096),
    cpus: wholeNumber(values, 'VAGRANT_CPUS', 2),
    nodes: wholeNumber(values, 'VAGRANT_NODES', 9),
    sshKeygenBin: or('SSH_KEYGEN_BIN', 'ssh-keygen'),
  };
}

/**
 * Parses and validates the effective values of every key (missing keys count as empty).
 * `environment` supplies what only the environment may set (lower-case proxy variables).
 * Throws UsageError `invalid-env` naming the first bad key, its value and how to fix it.
 */
export function parseSettings(values: Values, environment: Values = {}): Settings {
  // Checked first: its message is the one a bad timestamp gets, whatever else is wrong.
  const sourceDateEpoch = checkSourceDateEpoch(values);
  const mirrorSettings = mirrors(values);
  return {
    projectName: projectName(values),
    sources: sources(values),
    sourceDateEpoch,
    commandTimeoutMs: commandTimeoutMs(values),
    mirrors: mirrorSettings,
    httpTimeoutMs: httpTimeoutMs(values),
    proxies: proxySettings(values, environment),
    allowUnpinnedImages: allowUnpinned(values),
    imageBuilder: imageBuilder(values),
    imagePullConnections: imagePullConnections(values),
    rpmBuilder: rpmBuilder(values),
    rpmBuilderImage: optional(values, 'RPM_BUILDER_IMAGE') ?? 'docker.io/library/centos:7',
    rpmSignKey: optional(values, 'RPM_SIGN_KEY'),
    gnupgHome: optional(values, 'GNUPGHOME'),
    isoSignKey: optional(values, 'ISO_SIGN_KEY'),
    isoRootStrays: isoRootStrays(values),
    standInScale: standInScale(values),
    isoVerifyPath: optional(values, 'ISO_VERIFY_PATH'),
    artifactsEventLog: optional(values, 'ARTIFACTS_EVENT_LOG'),
    artifactsCompareTo: optional(values, 'ARTIFACTS_COMPARE_TO'),
    vagrant: vagrant(values),
    buildCache: buildCache(values, mirrorSettings),
  };
}
