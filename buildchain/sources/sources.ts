/**
 * Where upstream images and packages come from (SOURCES in .env): the embedded mirror
 * (default; stand-in content served on 127.0.0.1, works offline), the real upstream
 * registries and repos, or a site mirror.
 *
 * Contract for users of this module (images, packages, solution):
 * - Call the async methods only from task actions, never while creating tasks: for the
 *   embedded kind the first call seeds and starts the servers, and an up-to-date build
 *   must not pay that.
 * - Never put an endpoint returned here into a fingerprint (the embedded mirror's ports change
 *   from run to run); fingerprint content digests and checksums instead.
 * - The CLI calls `stop()` when the build ends, fails or is interrupted.
 */
import type { BuildConfig } from '../config/config.ts';
import { createEmbeddedSources, createSiteSources, createUpstreamSources } from './open-sources.ts';
import { defineTasks } from '../engine/definition-errors.ts';
import type { Sources } from './types.ts';

export type { RegistryEndpoint, Sources } from './types.ts';

/** Creates the sources selected by SOURCES (see the module comment). */
export function createSources(config: BuildConfig): Sources {
  // A malformed REGISTRY_MIRRORS/PACKAGE_MIRRORS is a settings mistake: exit 2, not a stack trace.
  return defineTasks(() => {
    switch (config.sources) {
      case 'embedded':
        return createEmbeddedSources(config);
      case 'upstream':
        return createUpstreamSources(config);
      case 'site':
        return createSiteSources(config);
    }
  }, config.env);
}

/** The sha256 (hex) a file fetched from `upstreamUrl` must have with these sources. */
export async function expectedSha256(
  sources: Sources,
  upstreamUrl: string,
  pinned: string,
): Promise<string> {
  return sources.expectedSha256 ? sources.expectedSha256(upstreamUrl, pinned) : pinned;
}
