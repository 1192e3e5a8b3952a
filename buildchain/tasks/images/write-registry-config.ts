/** The `images:registry-config` action: the nginx includes for the ISO's images/ directory. */
import type { BuildConfig } from '../../config/config.ts';
import type { ActionContext } from '../../engine/task.ts';
import { writeFileAtomic } from '../../lib/fs/atomic-write.ts';
import { isRepositoryName } from '../../lib/text/distribution-names.ts';
import { rejectValue } from '../../lib/text/quote.ts';
import { loadVersion } from '../../config/version.ts';
import { generateRegistryConfig } from './nginx-registry-config.ts';
import { scanImagesDir } from './registry-scan.ts';
import type { ImagesPaths } from './paths.ts';

/**
 * Name prefix and server-root variable of a product version, as Salt expects them:
 * `metalk8s-2.4.0-beta1/` and `$metalk8s_2_4_0_beta1_images` (set by the Salt repo state).
 */
export function registryNaming(projectName: string, version: string): { namePrefix: string; serverRoot: string } {
  const env = `${projectName.toLowerCase()}-${version}`;
  const fix = 'use a PROJECT_NAME of letters, digits and single dashes (e.g. MetalK8s)';
  // The prefix is a registry path component, the variable an nginx (and Salt) identifier.
  if (!isRepositoryName(env)) {
    rejectValue('PROJECT_NAME', projectName, `gives the registry name prefix "${env}", not a repository name of the distribution grammar`, fix);
  }
  const variable = `${env.replace(/[.-]/g, '_')}_images`;
  if (!/^[a-z0-9_]+$/.test(variable)) rejectValue('PROJECT_NAME', projectName, `gives the nginx variable $${variable}`, fix);
  return { namePrefix: `${env}/`, serverRoot: `$${variable}` };
}

/** Scans `<isoRoot>/images` and writes both includes (constants, and images with the prefix). */
export async function writeRegistryConfig(ctx: ActionContext, config: BuildConfig, paths: ImagesPaths): Promise<void> {
  const version = await loadVersion(config.root);
  const naming = registryNaming(config.projectName, version.full);
  const scan = await scanImagesDir(paths.imagesDir);
  for (const w of scan.warnings) ctx.log(`WARNING: ${w}`);
  await writeFileAtomic(paths.registryCommonInclude, generateRegistryConfig({ repos: [], serverRoot: naming.serverRoot, constants: 'only' }), { mkdir: true });
  await writeFileAtomic(paths.registryInclude, generateRegistryConfig({ repos: scan.repos, ...naming, constants: 'omit' }), { mkdir: true });
  ctx.log(`registry config: ${scan.repos.length} repositories under /v2/${naming.namePrefix}`);
}
