/**
 * The three kinds of {@link Sources}: embedded (stand-in mirror on 127.0.0.1), upstream (the
 * real registries and repos, failing fast when unreachable) and site (REGISTRY_MIRRORS /
 * PACKAGE_MIRRORS).
 */
import path from 'node:path';
import type { BuildConfig } from '../config/config.ts';
import type { ImageEntry } from '../config/content-types.ts';
import {
  goneReason,
  mapUrlByPrefix,
  registryApiHost,
  registryAuthFile,
  upstreamRegistryHost,
  upstreamUrl,
  type MirrorSettings,
} from '../config/mirrors.ts';
import { TaskError } from '../engine/task.ts';
import { isInside } from '../lib/fs/fence.ts';
import type { RegistryEndpoint, Sources } from './types.ts';
import { loadMirrorPlan } from './embedded/content.ts';
import { createEmbeddedMirror, type EmbeddedMirror } from './embedded/embedded.ts';
import { checkReachable } from './reachable.ts';
import { imageKey } from './embedded/seed.ts';
import { readStoredBlob } from './embedded/registry-storage.ts';
import { standInFileSha256, webPathOf } from './embedded/web-paths.ts';

function bin(config: BuildConfig, tool: string, fallback: string): string {
  return config.tools[tool]?.bin ?? fallback;
}

/** The embedded mirror of a build configuration (not started). */
export function embeddedMirrorFor(
  config: BuildConfig,
  log?: (line: string) => void,
): EmbeddedMirror {
  return createEmbeddedMirror({
    buildRoot: config.buildRoot,
    loadPlan: () => loadMirrorPlan(config.root, config.projectName, config.settings.standInScale),
    bins: {
      registry: bin(config, 'registry', 'docker-registry'),
      nginx: bin(config, 'nginx', 'nginx'),
      rpmbuild: bin(config, 'rpmbuild', 'rpmbuild'),
      createrepo: bin(config, 'createrepo', 'createrepo_c'),
      gpg: bin(config, 'gpg', 'gpg'),
      rpmsign: bin(config, 'rpmsign', 'rpmsign'),
    },
    log,
  });
}

export function createEmbeddedSources(config: BuildConfig): Sources {
  const mirror = embeddedMirrorFor(config);
  return {
    kind: 'embedded',
    embedded: mirror,
    lockDir: mirror.dirs.locks,
    describe: () => 'embedded mirror (stand-in content, not a release)',
    async registry(upstreamHost) {
      // Each server starts on first use only (a build restoring everything starts none).
      const registry = await mirror.registry();
      return { host: registry.address, pathPrefix: upstreamHost, insecure: true, plainHttp: true };
    },
    async imageDigest(image) {
      if (image.source === undefined) return undefined;
      const { seed } = await mirror.content();
      const key = imageKey(image.source.registry, image.source.repository, image.version);
      const digest = seed.imageDigests[key];
      if (digest === undefined) {
        throw new TaskError(
          'invalid-input',
          `the embedded mirror has no stand-in for ${key} (image ${image.name})`,
          {
            hint: 'It seeds the images of images/images.yaml only: add the image there, or set SOURCES=upstream or SOURCES=site in .env.',
          },
        );
      }
      return digest;
    },
    async repoUrl(upstreamUrl) {
      const [web, { plan }] = await Promise.all([mirror.web(), mirror.content()]);
      return `http://${web.address}/${webPathOf(upstreamUrl, plan.repos)}`;
    },
    expectedSha256: (upstreamUrl) => Promise.resolve(standInFileSha256(upstreamUrl)),
    // What the registry serves for a pinned digest: the bytes of its storage.
    storedManifest: (_image, digest) =>
      readStoredBlob(path.join(mirror.dirs.registry, 'data'), digest),
    async servedFile(upstreamUrl) {
      // What nginx serves from its root (`root` + the web path), nothing else.
      const { plan } = await mirror.content();
      const file = path.join(mirror.dirs.www, webPathOf(upstreamUrl, plan.repos));
      return isInside(mirror.dirs.www, file) && !file.endsWith(path.sep) ? file : undefined;
    },
    stop: () => mirror.stop(),
  };
}

/**
 * Checks each host once per build (an HTTP answer within HTTP_TIMEOUT); rejects with
 * `unreachable` naming it and the fix. Every later image or file of a failed host fails at once.
 */
function reachabilityGate(
  config: BuildConfig,
): (target: string, what: string, hint: string, insecure?: boolean) => Promise<void> {
  const checked = new Map<string, Promise<void>>();
  const timeoutMs = config.settings.httpTimeoutMs;
  return (target, what, hint, insecure = false) => {
    let p = checked.get(target);
    if (p === undefined) {
      p = checkReachable(target, timeoutMs, { insecure }).then((r) => {
        if (!r.ok) {
          throw new TaskError('unreachable', `cannot reach ${what}: ${r.reason}`, {
            hint: r.advice === undefined ? hint : `${r.advice}. ${hint}`,
          });
        }
      });
      checked.set(target, p);
    }
    return p;
  };
}

/** The gate's target for a registry: its API root, on the API host (docker.io: registry-1). */
function registryProbe(host: string): string {
  return registryApiHost(host);
}

/** A package URL no public host serves any more: fails naming the fix. */
function goneError(url: string, why: string, site: boolean): TaskError {
  return new TaskError('unreachable', `no public host serves ${url} any more: ${why}`, {
    hint: site
      ? `Add a PACKAGE_MIRRORS pair mapping it to your mirror of that repository (${url.replace(/\/+$/, '')}=<your mirror URL>), see docs/mirror.md.`
      : `Set SOURCES=site and PACKAGE_MIRRORS=${url.replace(/\/+$/, '')}=<your mirror of it> in .env (docs/mirror.md lists every upstream), or SOURCES=embedded.`,
  });
}

function upstreamLockDir(config: BuildConfig): string {
  return path.join(config.root, 'packages-specs', 'locks');
}

const UPSTREAM_REGISTRY_HINT =
  'This machine cannot reach the upstream registry. Set SOURCES=embedded in .env (stand-in ' +
  'content, works offline), or SOURCES=site with REGISTRY_MIRRORS=<upstream>=<your mirror>.';
const UPSTREAM_REPO_HINT =
  'This machine cannot reach the upstream repository. Set SOURCES=embedded in .env (stand-in ' +
  'content, works offline), or SOURCES=site with PACKAGE_MIRRORS=<upstream prefix>=<your mirror prefix>.';

function hostOfUrl(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    throw new TaskError('invalid-input', `not a URL: ${url}`);
  }
}

export function createUpstreamSources(config: BuildConfig): Sources {
  const settings = config.settings.mirrors;
  const gate = reachabilityGate(config);
  const insecure = new Set(settings.insecureRegistries);
  const authFile = registryAuthFile(config.root, settings);
  return {
    kind: 'upstream',
    lockDir: upstreamLockDir(config),
    describe: () => 'upstream',
    async registry(upstreamHost) {
      const host = upstreamRegistryHost(upstreamHost);
      const isInsecure = insecure.has(host);
      const moved = host === upstreamHost ? '' : ` (serving ${upstreamHost}'s images)`;
      await gate(
        registryProbe(host),
        `registry ${host}${moved}`,
        UPSTREAM_REGISTRY_HINT,
        isInsecure,
      );
      return {
        host,
        upstream: upstreamHost,
        pathPrefix: '',
        insecure: isInsecure,
        ...(authFile ? { authFile } : {}),
      };
    },
    imageDigest: (image: ImageEntry) => Promise.resolve(image.digest),
    async repoUrl(listed) {
      const why = goneReason(listed);
      if (why !== undefined) throw goneError(listed, why, false);
      const url = upstreamUrl(listed);
      const moved = url === listed ? '' : `, archive of ${listed}`;
      await gate(
        new URL(url).origin + '/',
        `package repository ${hostOfUrl(url)} (${url}${moved})`,
        UPSTREAM_REPO_HINT,
      );
      return url;
    },
    expectedSha256: (_url, pinned) => Promise.resolve(pinned),
    stop: () => Promise.resolve(),
  };
}

/** `site (harbor.example.com, nexus.example.com)` */
export function describeSite(settings: MirrorSettings): string {
  const hosts = new Set<string>();
  for (const m of settings.registryMirrors) hosts.add(m.host);
  for (const m of settings.packageMirrors) hosts.add(hostOfUrl(m.mirrorPrefix));
  return hosts.size === 0
    ? 'site (no mirror configured: upstream hosts)'
    : `site (${[...hosts].join(', ')})`;
}

export function createSiteSources(config: BuildConfig): Sources {
  const settings = config.settings.mirrors;
  const gate = reachabilityGate(config);
  const insecure = new Set(settings.insecureRegistries);
  const authFile = registryAuthFile(config.root, settings);
  return {
    kind: 'site',
    lockDir: upstreamLockDir(config),
    describe: () => describeSite(settings),
    async registry(upstreamHost): Promise<RegistryEndpoint> {
      const mirror = settings.registryMirrors.find((m) => m.upstream === upstreamHost);
      const host = mirror?.host ?? upstreamRegistryHost(upstreamHost);
      const isInsecure = insecure.has(host);
      const hint = mirror
        ? `Check REGISTRY_MIRRORS (${upstreamHost}=${host}${mirror.pathPrefix ? '/' + mirror.pathPrefix : ''}) and INSECURE_REGISTRIES (plain HTTP mirrors), or set SOURCES=embedded.`
        : `No mirror for ${upstreamHost} in REGISTRY_MIRRORS, so the upstream host is used: add ${upstreamHost}=<your mirror> to REGISTRY_MIRRORS, or set SOURCES=embedded.`;
      await gate(
        registryProbe(host),
        `registry ${host}${mirror ? ` (mirror of ${upstreamHost})` : ''}`,
        hint,
        isInsecure,
      );
      return {
        host,
        upstream: upstreamHost,
        pathPrefix: mirror?.pathPrefix ?? '',
        insecure: isInsecure,
        ...(authFile ? { authFile } : {}),
      };
    },
    imageDigest: (image: ImageEntry) => Promise.resolve(image.digest),
    async repoUrl(listed) {
      const mapped = mapUrlByPrefix(listed, settings.packageMirrors);
      if (mapped === undefined) {
        const why = goneReason(listed);
        if (why !== undefined) throw goneError(listed, why, true);
      }
      const url = mapped ?? upstreamUrl(listed);
      const hint = mapped
        ? 'Check PACKAGE_MIRRORS (upstream-URL-prefix=mirror-URL-prefix), or set SOURCES=embedded.'
        : `No PACKAGE_MIRRORS prefix matches ${listed}, so the upstream host is used (${url}): add a pair for it, or set SOURCES=embedded.`;
      await gate(new URL(url).origin + '/', `package repository ${hostOfUrl(url)} (${url})`, hint);
      return url;
    },
    expectedSha256: (_url, pinned) => Promise.resolve(pinned),
    stop: () => Promise.resolve(),
  };
}
