/**
 * Where packaging work and outputs live. Everything under BUILD_ROOT; the ISO repos under the
 * ISO root as `packages/redhat/<isoName>/` (isoName = `<project lower>-<repo>-<distTag>`).
 */
import path from 'node:path';

/** Paths of one OS family's packaging work, all absolute. */
export interface PackagingPaths {
  readonly osFamily: string;
  /** `<buildRoot>/packages/<osFamily>` */
  readonly root: string;
  /** Downloaded RPMs: `<root>/cache/<repo>/<file>.rpm`. */
  readonly cache: string;
  /** Downloaded GPG keys: `<root>/keys/<repo>/<n>.asc`. */
  readonly keys: string;
  /** Per-repo manifests written by the download: `<root>/resolved/<isoName>.json`. */
  readonly resolved: string;
  /** dnf's private cache, log and state dirs. */
  readonly dnf: string;
  /** Fetched spec sources: `<root>/sources/<pkg>/<file>`. */
  readonly sources: string;
  /** rpmbuild topdirs: `<root>/build/<pkg>/{srpm,rpm}`. */
  readonly build: string;
  /** `<root>/srpm/<pkg>.src.rpm` */
  readonly srpm: string;
  /** `<root>/rpm/<pkg>/<arch>/<file>.rpm` and the manifest `<root>/rpm/<pkg>.json`. */
  readonly rpm: string;
  /** Repos are assembled in `<root>/staging/<isoName>` then renamed into the ISO root. */
  readonly staging: string;
  /** `<isoRoot>/packages/redhat` */
  readonly isoRepos: string;
}

export function packagingPaths(
  buildRoot: string,
  isoRoot: string,
  osFamily: string,
): PackagingPaths {
  const root = path.join(buildRoot, 'packages', osFamily);
  const family = osFamily.split('-')[0] ?? osFamily;
  return {
    osFamily,
    root,
    cache: path.join(root, 'cache'),
    keys: path.join(root, 'keys'),
    resolved: path.join(root, 'resolved'),
    dnf: path.join(root, 'dnf'),
    sources: path.join(root, 'sources'),
    build: path.join(root, 'build'),
    srpm: path.join(root, 'srpm'),
    rpm: path.join(root, 'rpm'),
    staging: path.join(root, 'staging'),
    isoRepos: path.join(isoRoot, 'packages', family),
  };
}
