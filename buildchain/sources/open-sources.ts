/**
 * The three kinds of {@link Sources}: embedded (stand-in mirror on 127.0.0.1), upstream (the
 * real registries and repos, failing fast when unreachable) and site (REGISTRY_MIRRORS /
 * PACKAGE_MIRRORS).
 */
import path from 'node:path';
import type { BuildConfig } from '../config/config.ts';
import type { ImageEntry } from '../config/content-types.ts';
import { mapUrlByPrefix, type MirrorSettings } from '../config/mirrors.ts';
import { TaskError } from '../engine/task.ts';
import type { RegistryEndpoint, Sources } from './types.ts';
import { loadMirrorPlan } from './embedded/content.ts';
import { createEmbeddedMirror, type EmbeddedMirror } from './embedded/embedded.ts';
import { checkReachable } from './reachable.ts';
import { imageKey } from './embedded/seed.ts';
import { standInFileSha256, webPathOf } from './embedded/web-paths.ts';

/** How long a host may take to accept a connection before the build fails (ms). */
export const REACH_TIMEOUT_MS = 3000;

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
      const { registry } = await mirror.ensure();
      return { host: registry.address, pathPrefix: upstreamHost, insecure: true };
    },
    async imageDigest(image) {
      if (image.source === undefined) return undefined;
      const { seed } = await mirror.ensure();
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
      const { web, plan } = await mirror.ensure();
      return `http://${web.address}/${webPathOf(upstreamUrl, plan.repos)}`;
    },
    expectedSha256: (upstreamUrl) => Promise.resolve(standInFileSha256(upstreamUrl)),
    stop: () => mirror.stop(),
  };
}

/** Checks each host once per build; rejects with `unreachable` naming it and the fix. */
function reachabilityGate(): (target: string, what: string, hint: string) => Promise<void> {
  const checked = new Map<string, Promise<void>>();
  return (target, what, hint) => {
    let p = checked.get(target);
    if (p === undefined) {
      p = checkReachable(target, REACH_TIMEOUT_MS).then((r) => {
        if (!r.ok)
          throw new TaskError('unreachable', `cannot reach ${what}: ${r.reason}`, { hint });
      });
      checked.set(target, p);
    }
    return p;
  };
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
  const gate = reachabilityGate();
  const insecure = new Set(settings.insecureRegistries);
  const authFile = settings.authFile !== '' ? settings.authFile : undefined;
  return {
    kind: 'upstream',
    lockDir: upstreamLockDir(config),
    describe: () => 'upstream',
    async registry(upstreamHost) {
      const isInsecure = insecure.has(upstreamHost);
      await gate(
        isInsecure ? `http://${upstreamHost}` : upstreamHost,
        `registry ${upstreamHost}`,
        UPSTREAM_REGISTRY_HINT,
      );
      return {
        host: upstreamHost,
        pathPrefix: '',
        insecure: isInsecure,
        ...(authFile ? { authFile } : {}),
      };
    },
    imageDigest: (image: ImageEntry) => Promise.resolve(image.digest),
    async repoUrl(upstreamUrl) {
      await gate(
        new URL(upstreamUrl).origin,
        `package repository ${hostOfUrl(upstreamUrl)} (${upstreamUrl})`,
        UPSTREAM_REPO_HINT,
      );
      return upstreamUrl;
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
  const gate = reachabilityGate();
  const insecure = new Set(settings.insecureRegistries);
  const authFile = settings.authFile !== '' ? settings.authFile : undefined;
  return {
    kind: 'site',
    lockDir: upstreamLockDir(config),
    describe: () => describeSite(settings),
    async registry(upstreamHost): Promise<RegistryEndpoint> {
      const mirror = settings.registryMirrors.find((m) => m.upstream === upstreamHost);
      const host = mirror?.host ?? upstreamHost;
      const isInsecure = insecure.has(host);
      const hint = mirror
        ? `Check REGISTRY_MIRRORS (${upstreamHost}=${host}${mirror.pathPrefix ? '/' + mirror.pathPrefix : ''}) and INSECURE_REGISTRIES (plain HTTP mirrors), or set SOURCES=embedded.`
        : `No mirror for ${upstreamHost} in REGISTRY_MIRRORS, so the upstream host is used: add ${upstreamHost}=<your mirror> to REGISTRY_MIRRORS, or set SOURCES=embedded.`;
      await gate(
        isInsecure ? `http://${host}` : host,
        `registry ${host}${mirror ? ` (mirror of ${upstreamHost})` : ''}`,
        hint,
      );
      return {
        host,
        pathPrefix: mirror?.pathPrefix ?? '',
        insecure: isInsecure,
        ...(authFile ? { authFile } : {}),
      };
    },
    imageDigest: (image: ImageEntry) => Promise.resolve(image.digest),
    async repoUrl(upstreamUrl) {
      const mapped = mapUrlByPrefix(upstreamUrl, settings.packageMirrors);
      const url = mapped ?? upstreamUrl;
      const hint = mapped
        ? 'Check PACKAGE_MIRRORS (upstream-URL-prefix=mirror-URL-prefix), or set SOURCES=embedded.'
        : `No PACKAGE_MIRRORS prefix matches ${upstreamUrl}, so the upstream URL is used: add a pair for it, or set SOURCES=embedded.`;
      await gate(new URL(url).origin, `package repository ${hostOfUrl(url)} (${url})`, hint);
      return url;
    },
    expectedSha256: (_url, pinned) => Promise.resolve(pinned),
    stop: () => Promise.resolve(),
  };
}
