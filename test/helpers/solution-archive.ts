/**
 * A Solution archive as MetalK8s 2.4 serves it at import: its `registry-config.inc.j2` rendered
 * with Jinja (`repository`, `registry_root` = the archive's `images/`), included by nginx.
 * Needs python3-jinja2, bsdtar and nginx (the suites check them with missingJinja/missingTools).
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { LoopbackServer } from '../../buildchain/sources/embedded/servers.ts';
import { renderRegistryConstants } from '../../buildchain/tasks/solution/build/registry-config.ts';
import { renderJinjaFile } from './jinja.ts';
import { startTestNginx } from './servers.ts';

/** The archive's registry include, rendered as MetalK8s renders it at import. */
export function renderArchiveRegistryConfig(archive: string, repository: string): Promise<string> {
  // Jinja, as at import: its regex locations escape the value.
  return renderJinjaFile(path.join(archive, 'registry-config.inc.j2'), {
    repository,
    registry_root: path.join(archive, 'images'),
  });
}

/**
 * Extracts the ISO to `<work>/mnt` (bsdtar) and serves it with nginx (stopped by the
 * servers helper's stopAll) through its registry include, after the registry constants the
 * platform ships (`/v2/`, the named error locations).
 */
export async function serveSolutionIso(
  iso: string,
  work: string,
  repository: string,
): Promise<{ readonly extract: string; readonly nginx: LoopbackServer }> {
  const extract = path.join(work, 'mnt');
  await mkdir(extract);
  await execa('bsdtar', ['-xf', iso, '-C', extract]);
  await chmod(extract, 0o755);
  const conf = path.join(work, 'registry.inc');
  const rendered = await renderArchiveRegistryConfig(extract, repository);
  await writeFile(conf, `${renderRegistryConstants()}\n${rendered}`);
  const nginx = await startTestNginx({
    dir: path.join(work, 'nginx'),
    serverBody: `include ${conf};`,
  });
  return { extract, nginx };
}
