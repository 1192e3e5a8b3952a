/**
 * What `mirror:serve` prints: the endpoints and the site settings that point another build (or
 * a Solution build) at the running mirror. Pure.
 */
import type { MirrorPlan } from './content.ts';
import { FILES_DIR } from './web-paths.ts';

/** The settings values to use with SOURCES=site against a running embedded mirror. */
export interface ServeSettings {
  readonly REGISTRY_MIRRORS: string;
  readonly INSECURE_REGISTRIES: string;
  readonly PACKAGE_MIRRORS: string;
}

/** Settings for a mirror whose registry is `registryAddress` and nginx `webAddress`. */
export function serveSettings(
  plan: MirrorPlan,
  registryAddress: string,
  webAddress: string,
): ServeSettings {
  const registries = [...new Set(plan.images.map((i) => i.registry))].sort();
  const pairs: string[] = [];
  for (const repo of plan.repos) {
    // Expanded URLs only (no `$releasever`): that is what a resolver asks for.
    for (const base of repo.baseUrls.filter((u) => !u.includes('$'))) {
      pairs.push(`${base}=http://${webAddress}/${repo.dir}`);
    }
  }
  const origins = new Set<string>();
  for (const url of [...plan.files, ...plan.gpgKeys]) {
    const covered = plan.repos.some((r) => r.baseUrls.some((b) => url.startsWith(`${b}/`)));
    if (!covered) origins.add(new URL(url).origin);
  }
  for (const origin of [...origins].sort()) {
    pairs.push(`${origin}=http://${webAddress}/${FILES_DIR}/${new URL(origin).host}`);
  }
  return {
    REGISTRY_MIRRORS: registries.map((r) => `${r}=${registryAddress}/${r}`).join(','),
    INSECURE_REGISTRIES: registryAddress,
    PACKAGE_MIRRORS: pairs.join(','),
  };
}

/** The lines `mirror:serve` prints. */
export function serveBanner(
  plan: MirrorPlan,
  registryAddress: string,
  webAddress: string,
): string[] {
  const s = serveSettings(plan, registryAddress, webAddress);
  return [
    'embedded mirror (stand-in content, not a release) is serving:',
    `  registry  http://${registryAddress}/v2/  (repositories <upstream-host>/<repository>)`,
    `  packages  http://${webAddress}/  (one yum repo per upstream repo; files under /${FILES_DIR}/<host>/)`,
    'To use it from another build, put in its .env:',
    '  SOURCES=site',
    `  REGISTRY_MIRRORS=${s.REGISTRY_MIRRORS}`,
    `  INSECURE_REGISTRIES=${s.INSECURE_REGISTRIES}`,
    `  PACKAGE_MIRRORS=${s.PACKAGE_MIRRORS}`,
    'Press Ctrl-C to stop.',
  ];
}
