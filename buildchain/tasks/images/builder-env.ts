/**
 * What a local image build (buildah, podman or docker) gets to pull its base images the way the
 * registry client pulls: the registry mirrors (REGISTRY_MIRRORS, plus the hosts SOURCES=upstream
 * uses for moved registries such as k8s.gcr.io) as a registries.conf, and the credentials
 * (REGISTRY_AUTH_FILE) as the builder reads them, and the proxies (HTTPS_PROXY, ...).
 */
import { mkdir, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import type { BuildConfig } from '../../config/config.ts';
import { registryAuthFile } from '../../config/mirrors.ts';
import { writeFileAtomic } from '../../lib/fs/atomic-write.ts';
import { proxyEnvironment } from '../../lib/http/proxy.ts';
import { registriesConf, type ImageBuilder } from './builder-args.ts';
import { builderMirrors } from './builder-settings.ts';
import { checkAuthFile } from './registry-auth.ts';

export { builderMirrors } from './builder-settings.ts';

/**
 * The builder's extra environment for a real (not stand-in) build: CONTAINERS_REGISTRIES_CONF
 * and REGISTRY_AUTH_FILE for buildah/podman; DOCKER_CONFIG (a directory whose config.json is a
 * link to the auth file) for docker, whose daemon keeps its own mirrors. Undefined when there
 * is nothing to hand over. A REGISTRY_AUTH_FILE that cannot be read fails naming it.
 */
export async function builderEnv(
  config: Pick<BuildConfig, 'settings' | 'root'>,
  builder: ImageBuilder,
  containersDir: string,
  log?: (line: string) => void,
): Promise<Record<string, string> | undefined> {
  // The proxies of .env too (the environment's reach the builder anyway).
  const env: Record<string, string> = proxyEnvironment(config.settings.proxies);
  const authFile = registryAuthFile(config.root, config.settings.mirrors);
  if (authFile !== undefined) await checkAuthFile(authFile);
  await mkdir(containersDir, { recursive: true });
  if (builder === 'docker') {
    if (config.settings.mirrors.registryMirrors.length > 0) {
      log?.(
        'warning: IMAGE_BUILDER=docker pulls base images through the Docker daemon, which does not read REGISTRY_MIRRORS: set registry-mirrors in its daemon.json, or use buildah or podman',
      );
    }
    if (authFile !== undefined) {
      const dir = path.join(containersDir, 'docker-config');
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true, mode: 0o700 });
      // A link, not a copy: the credentials stay in the one file the user keeps them in.
      await symlink(authFile, path.join(dir, 'config.json'));
      env.DOCKER_CONFIG = dir;
    }
    return Object.keys(env).length === 0 ? undefined : env;
  }
  const conf = registriesConf(builderMirrors(config));
  if (conf !== '') {
    const file = path.join(containersDir, 'registries.conf');
    await writeFileAtomic(file, conf);
    env.CONTAINERS_REGISTRIES_CONF = file;
  }
  if (authFile !== undefined) env.REGISTRY_AUTH_FILE = authFile;
  return Object.keys(env).length === 0 ? undefined : env;
}
