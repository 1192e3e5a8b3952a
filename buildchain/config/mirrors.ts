/**
 * Site mirror settings (SOURCES=site): REGISTRY_MIRRORS, INSECURE_REGISTRIES,
 * REGISTRY_AUTH_FILE and PACKAGE_MIRRORS, parsed and validated with errors naming the key.
 * Pure: no disk, no network.
 */

/** One registry mirror: an upstream registry host served by `host/pathPrefix`. */
export interface RegistryMirror {
  /** Upstream host as written in the image list, e.g. `docker.io`. */
  readonly upstream: string;
  /** `host[:port]` of the mirror. */
  readonly host: string;
  /** Path prefix on the mirror ('' or e.g. `dockerhub`, no slashes at the ends). */
  readonly pathPrefix: string;
}

/** One package mirror: URLs starting with `upstreamPrefix` are fetched from `mirrorPrefix`. */
export interface PackageMirror {
  readonly upstreamPrefix: string;
  readonly mirrorPrefix: string;
}

/** The parsed site settings. */
export interface MirrorSettings {
  readonly registryMirrors: readonly RegistryMirror[];
  /** Hosts (`host[:port]`, upstream or mirror) reached over plain HTTP / without TLS checks. */
  readonly insecureRegistries: readonly string[];
  /** containers auth.json path ('' = none). */
  readonly authFile: string;
  readonly packageMirrors: readonly PackageMirror[];
}

/** A malformed setting; `key` names the .env key to fix. */
export class MirrorSettingsError extends Error {
  readonly key: string;
  constructor(key: string, message: string) {
    super(`${key}: ${message}`);
    this.name = 'MirrorSettingsError';
    this.key = key;
  }
}

const HOST_RE =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]{1,5})?$/;
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** True for `host`, `host:port`, `a.b.c` (no scheme, no path). */
export function isRegistryHost(value: string): boolean {
  return HOST_RE.test(value);
}

/** Parses `docker.io=harbor.example.com/dockerhub,quay.io=127.0.0.1:5000`. */
export function parseRegistryMirrors(value: string, key = 'REGISTRY_MIRRORS'): RegistryMirror[] {
  const seen = new Set<string>();
  return splitList(value).map((pair) => {
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1) {
      throw new MirrorSettingsError(
        key,
        `'${pair}' is not upstream=mirror (e.g. docker.io=harbor.example.com/dockerhub)`,
      );
    }
    const upstream = pair.slice(0, eq).trim();
    const mirror = pair
      .slice(eq + 1)
      .trim()
      .replace(/\/+$/, '');
    if (!isRegistryHost(upstream)) {
      throw new MirrorSettingsError(
        key,
        `'${upstream}' is not a registry host (e.g. docker.io, quay.io)`,
      );
    }
    if (seen.has(upstream)) throw new MirrorSettingsError(key, `'${upstream}' is listed twice`);
    seen.add(upstream);
    if (/^[a-z]+:\/\//.test(mirror)) {
      throw new MirrorSettingsError(
        key,
        `'${mirror}': give host[:port][/prefix] without a scheme; list plain-HTTP mirrors in INSECURE_REGISTRIES`,
      );
    }
    const [host = '', ...prefix] = mirror.split('/');
    if (!isRegistryHost(host)) throw new MirrorSettingsError(key, `'${host}' is not a host[:port]`);
    for (const component of prefix) {
      if (!PATH_COMPONENT_RE.test(component)) {
        throw new MirrorSettingsError(
          key,
          `'${mirror}': path component '${component}' is not a valid repository name part`,
        );
      }
    }
    return { upstream, host, pathPrefix: prefix.join('/') };
  });
}

/** Parses `harbor.local:5000,127.0.0.1:5000`. */
export function parseInsecureRegistries(value: string, key = 'INSECURE_REGISTRIES'): string[] {
  return splitList(value).map((host) => {
    if (!isRegistryHost(host))
      throw new MirrorSettingsError(key, `'${host}' is not a host[:port] (no scheme, no path)`);
    return host;
  });
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Parses `http://mirror.centos.org/centos=https://nexus.example.com/repository/centos`. */
export function parsePackageMirrors(value: string, key = 'PACKAGE_MIRRORS'): PackageMirror[] {
  return splitList(value).map((pair) => {
    const eq = pair.indexOf('=');
    const upstreamPrefix = eq > 0 ? pair.slice(0, eq).trim() : '';
    const mirrorPrefix = eq > 0 ? pair.slice(eq + 1).trim() : '';
    if (!isHttpUrl(upstreamPrefix) || !isHttpUrl(mirrorPrefix)) {
      throw new MirrorSettingsError(
        key,
        `'${pair}' is not upstream-URL-prefix=mirror-URL-prefix with http(s) URLs ` +
          '(e.g. http://mirror.centos.org/centos=https://nexus.example.com/repository/centos)',
      );
    }
    return { upstreamPrefix, mirrorPrefix };
  });
}

/** Parses every site setting from the effective env (`BuildConfig.env`). */
export function parseMirrorSettings(env: Readonly<Record<string, string>>): MirrorSettings {
  return {
    registryMirrors: parseRegistryMirrors(env.REGISTRY_MIRRORS ?? ''),
    insecureRegistries: parseInsecureRegistries(env.INSECURE_REGISTRIES ?? ''),
    authFile: (env.REGISTRY_AUTH_FILE ?? '').trim(),
    packageMirrors: parsePackageMirrors(env.PACKAGE_MIRRORS ?? ''),
  };
}

/**
 * Maps a URL through prefix mirrors (longest matching prefix wins, matched on a `/` boundary
 * or exactly); returns undefined when no prefix matches.
 */
export function mapUrlByPrefix(url: string, mirrors: readonly PackageMirror[]): string | undefined {
  const norm = (p: string): string => p.replace(/\/+$/, '');
  let best: PackageMirror | undefined;
  for (const m of mirrors) {
    const prefix = norm(m.upstreamPrefix);
    const matches = url === prefix || url.startsWith(prefix + '/');
    if (matches && (best === undefined || prefix.length > norm(best.upstreamPrefix).length))
      best = m;
  }
  if (best === undefined) return undefined;
  return norm(best.mirrorPrefix) + url.slice(norm(best.upstreamPrefix).length);
}
