/**
 * BUILD_CACHE and BUILD_CACHE_MODE (docs/cache.md), parsed and validated once with the other
 * settings. Pure: no disk, no network.
 */
import { isRegistryHost } from './mirrors.ts';

/** Where the build cache lives and what a build may do with it. */
export interface BuildCacheSettings {
  /** `host[:port]` of the registry. */
  readonly host: string;
  /** Repository path on it, e.g. `metalk8s/build-cache`. */
  readonly repository: string;
  /** `read` (default: look up only) or `readwrite` (also upload). */
  readonly mode: 'read' | 'readwrite';
  /** The host is listed in INSECURE_REGISTRIES: plain HTTP or HTTPS without checks. */
  readonly insecure: boolean;
}

/** A bad BUILD_CACHE* value: `key` names the setting, `hint` the fix. */
export class BuildCacheSettingError extends Error {
  readonly key: string;
  readonly hint: string;
  constructor(key: string, message: string, hint: string) {
    super(message);
    this.name = 'BuildCacheSettingError';
    this.key = key;
    this.hint = hint;
  }
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const EXAMPLE = 'e.g. BUILD_CACHE=oci://harbor.example.com/metalk8s/build-cache (docs/cache.md)';

/** Parses the two settings; undefined when BUILD_CACHE is empty (no cache). */
export function parseBuildCache(
  cache: string,
  mode: string,
  insecureHosts: readonly string[],
): BuildCacheSettings | undefined {
  const m = mode.trim();
  if (m !== '' && m !== 'read' && m !== 'readwrite') {
    throw new BuildCacheSettingError(
      'BUILD_CACHE_MODE',
      `BUILD_CACHE_MODE=${m} is not read or readwrite`,
      'set BUILD_CACHE_MODE=read (pull requests: look up only) or readwrite (CI on main: also upload)',
    );
  }
  const raw = cache.trim();
  if (raw === '') return undefined;
  const bad = (why: string): never => {
    throw new BuildCacheSettingError(
      'BUILD_CACHE',
      `BUILD_CACHE=${raw} is not oci://HOST[:PORT]/REPO: ${why}`,
      EXAMPLE,
    );
  };
  if (!raw.startsWith('oci://')) bad('it must start with oci://');
  const rest = raw.slice('oci://'.length).replace(/\/+$/, '');
  const slash = rest.indexOf('/');
  if (slash <= 0) bad('a repository path is needed after the host');
  const host = rest.slice(0, slash);
  const repository = rest.slice(slash + 1);
  if (!isRegistryHost(host)) bad(`'${host}' is not a registry host`);
  if (repository.split('/').some((c) => !COMPONENT.test(c)))
    bad(`'${repository}' is not a repository path (lower-case letters, digits, . _ - and /)`);
  if (repository.length > 200) bad('the repository path is too long');
  return {
    host,
    repository,
    mode: m === 'readwrite' ? 'readwrite' : 'read',
    insecure: insecureHosts.includes(host),
  };
}
