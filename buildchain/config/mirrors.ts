/**
 * Site mirror settings (SOURCES=site): REGISTRY_MIRRORS, INSECURE_REGISTRIES,
 * REGISTRY_AUTH_FILE and PACKAGE_MIRRORS, parsed and validated with errors naming the key.
 * Pure: no disk, no network.
 */
import path from 'node:path';

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

/**
 * REGISTRY_AUTH_FILE as an absolute path (undefined when unset): a relative path is relative to
 * the repository, whatever the working directory (registry pulls, builders, the build cache,
 * Solution image copies all read the same file).
 */
export function registryAuthFile(root: string, mirrors: MirrorSettings): string | undefined {
  return mirrors.authFile === '' ? undefined : path.resolve(root, mirrors.authFile);
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

/**
 * Registries named in the image lists that no longer serve 2.4's images under that name, and
 * the host that does (used by SOURCES=upstream, and by SOURCES=site for registries without a
 * REGISTRY_MIRRORS entry).
 */
export const UPSTREAM_REGISTRY_HOSTS: Readonly<Record<string, string>> = {
  // Frozen since April 2023; registry.k8s.io serves every image k8s.gcr.io held.
  'k8s.gcr.io': 'registry.k8s.io',
};

/** The registry host to use for a registry named in the image lists (see above). Pure. */
export function upstreamRegistryHost(named: string): string {
  return UPSTREAM_REGISTRY_HOSTS[named] ?? named;
}

const DOCKER_HUB_NAMES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** True for Docker Hub's names (`docker.io`, `index.docker.io`, `registry-1.docker.io`). */
export function isDockerHub(host: string): boolean {
  return DOCKER_HUB_NAMES.has(host);
}

/**
 * The host serving the registry API for a registry name, as containers/image maps it: Docker
 * Hub's `docker.io` (and `index.docker.io`) is `registry-1.docker.io`. Pure.
 */
export function registryApiHost(host: string): string {
  return isDockerHub(host) ? 'registry-1.docker.io' : host;
}

/**
 * A repository as the registry knows it: on Docker Hub a single-name repository is an
 * official image under `library/` (`nginx` → `library/nginx`), as containers/image normalises
 * it. Pure.
 */
export function registryRepository(registry: string, repository: string): string {
  return isDockerHub(registry) && !repository.includes('/') ? `library/${repository}` : repository;
}

/**
 * Package URLs of the lists whose host no longer serves them, and where the same content is
 * archived (used by SOURCES=upstream, and by SOURCES=site for URLs without a PACKAGE_MIRRORS
 * prefix). Longest matching prefix wins, as for PACKAGE_MIRRORS.
 */
export const UPSTREAM_URL_PREFIXES: readonly PackageMirror[] = [
  // CentOS 7 reached its end of life on 2024-06-30: mirror.centos.org is gone, vault.centos.org
  // keeps every point release (7.9.2009 is what centos/7 pointed at last).
  {
    upstreamPrefix: 'http://mirror.centos.org/centos/7',
    mirrorPrefix: 'https://vault.centos.org/7.9.2009',
  },
  {
    upstreamPrefix: 'http://mirror.centos.org/centos/RPM-GPG-KEY-CentOS-7',
    mirrorPrefix: 'https://vault.centos.org/RPM-GPG-KEY-CentOS-7',
  },
  // EPEL 7 moved to the Fedora archive in 2024.
  {
    upstreamPrefix: 'https://dl.fedoraproject.org/pub/epel/7',
    mirrorPrefix: 'https://dl.fedoraproject.org/pub/archive/epel/7',
  },
  {
    upstreamPrefix: 'https://dl.fedoraproject.org/pub/epel/RPM-GPG-KEY-EPEL-7',
    mirrorPrefix: 'https://dl.fedoraproject.org/pub/archive/epel/RPM-GPG-KEY-EPEL-7',
  },
];

/** Package URL prefixes that no public host serves any more, with why. */
export const GONE_URL_PREFIXES: readonly { readonly prefix: string; readonly why: string }[] = [
  {
    prefix: 'https://packages.cloud.google.com/yum',
    why:
      'the legacy Kubernetes package repositories were removed on 2024-03-04, and pkgs.k8s.io ' +
      'starts at Kubernetes 1.24 (2.4 ships 1.15)',
  },
  {
    prefix: 'https://repo.saltstack.com',
    why:
      'repo.saltstack.com and its successors (repo.saltproject.io, archive.repo.saltproject.io) ' +
      'were shut down in November 2024, and packages.broadcom.com holds Salt 3006 and later only',
  },
];

/** Why no public host serves `url` any more, or undefined. Pure. */
export function goneReason(url: string): string | undefined {
  return GONE_URL_PREFIXES.find((g) => url === g.prefix || url.startsWith(`${g.prefix}/`))?.why;
}

/** The URL to fetch for a package URL of the lists when no site mirror maps it. Pure. */
export function upstreamUrl(url: string): string {
  return mapUrlByPrefix(url, UPSTREAM_URL_PREFIXES) ?? url;
}
