/**
 * Public API of the packages domain for the other domains (.dependency-cruiser.cjs): the
 * versions of the packages built locally, for `salt/metalk8s/versions.json`.
 */
import { readFile } from 'node:fs/promises';
import type { BuildConfig } from '../../config/config.ts';
import type { PackageList } from '../../config/content-types.ts';
import { specPath } from '../../config/packages.ts';
import { shortVersion } from './settings.ts';
import { specVersion } from './spec-version.ts';

/** The spec files of the locally built packages whose version the list does not pin. */
export function unpinnedSpecFiles(root: string, list: PackageList): string[] {
  return list.packages
    .filter((p) => p.built && p.version === undefined)
    .map((p) => specPath(root, p.name));
}

/**
 * `<version>-<release>` of each locally built package the list does not pin (2.4:
 * metalk8s-sosreport `2.4-1.el7`), read from its spec with the build's `dist` and
 * `short_version` macros.
 */
export async function builtPackageVersions(
  config: Pick<BuildConfig, 'root'>,
  list: PackageList,
): Promise<Record<string, string>> {
  const defines = { dist: `.${list.distTag ?? 'el7'}`, short_version: shortVersion(config.root) };
  const out: Record<string, string> = {};
  for (const p of list.packages.filter((x) => x.built && x.version === undefined)) {
    const file = specPath(config.root, p.name);
    const v = specVersion(await readFile(file, 'utf8'), defines, `spec of ${p.name} (${file})`);
    out[p.name] = `${v.version}-${v.release}`;
  }
  return out;
}
