/**
 * What the settings give a local image build to pull with (pure, light: task definitions
 * fingerprint it without loading the builder's environment code): the mirrors and the auth
 * file, as builder-env.ts hands them over.
 */
import type { BuildConfig } from '../../config/config.ts';
import { registryAuthFile, UPSTREAM_REGISTRY_HOSTS } from '../../config/mirrors.ts';
import type { BuilderMirror } from './builder-args.ts';

/**
 * The mirrors the builder should use (pure): every REGISTRY_MIRRORS entry, then the moved
 * upstream registries (k8s.gcr.io → registry.k8s.io) that have no entry.
 */
export function builderMirrors(config: Pick<BuildConfig, 'settings'>): BuilderMirror[] {
  const settings = config.settings.mirrors;
  const insecure = new Set(settings.insecureRegistries);
  const mirrors: BuilderMirror[] = settings.registryMirrors.map((m) => ({
    upstream: m.upstream,
    location: m.pathPrefix === '' ? m.host : `${m.host}/${m.pathPrefix}`,
    insecure: insecure.has(m.host),
  }));
  for (const [named, host] of Object.entries(UPSTREAM_REGISTRY_HOSTS)) {
    if (mirrors.some((m) => m.upstream === named)) continue;
    mirrors.push({ upstream: named, location: host, insecure: insecure.has(host) });
  }
  return mirrors;
}

/** What of the settings a local build's fingerprint holds: see {@link builderSettingsKey}. */
export interface BuilderSettingsKey {
  readonly mirrors: readonly BuilderMirror[];
  /** Whether REGISTRY_AUTH_FILE is set (see {@link builderSettingsKey}). */
  readonly withAuthFile: boolean;
}

/**
 * The settings that can change what a local build pulls (its FROM images), for the task's
 * fingerprint (pure): the mirrors exactly as builderEnv (builder-env.ts) hands them to the
 * builder (REGISTRY_MIRRORS, INSECURE_REGISTRIES, the moved upstream hosts), and whether it
 * pulls with REGISTRY_AUTH_FILE's credentials. Undefined when none of these is set: the rest
 * is constant (the moved hosts are code, which the fingerprint holds already), so a build
 * given no settings (`buildSolution` without `builderConfig`) and one given the defaults (the
 * command line) are the same build. Not the file's content (no secret is
 * fingerprinted; a new token for the same account pulls the same images), nor its path: the
 * build cache refuses a key naming the home directory (`~/.docker/config.json`), and another
 * file of credentials for the same mirrors pulls the same images. The proxies are left out:
 * they change how, not what, and their URLs may hold credentials.
 */
export function builderSettingsKey(config: Pick<BuildConfig, 'settings' | 'root'>): BuilderSettingsKey | undefined {
  const m = config.settings.mirrors;
  if (m.registryMirrors.length === 0 && m.insecureRegistries.length === 0 && m.authFile === '') return undefined;
  return {
    mirrors: builderMirrors(config),
    withAuthFile: registryAuthFile(config.root, config.settings.mirrors) !== undefined,
  };
}
