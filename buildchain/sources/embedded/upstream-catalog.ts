/**
 * What the real upstream repos hold that the stand-ins must imitate beyond the package lists:
 * the versions and dependencies of some listed packages, and packages that are not listed but
 * that the listed or locally built ones require (a real CentOS 7 `base` has `python`, which
 * provides `python(abi) = 2.7`). Without them the embedded mirror would be a repo set no real
 * node sees, and the closure check of the ISO's repos would fail (or pass) for the wrong reason.
 *
 * Values are those of CentOS 7.7 (the base of MetalK8s 2.4).
 */

/** A package of an upstream repo as its stand-in imitates it. */
export interface CatalogRpm {
  readonly name: string;
  readonly version: string;
  readonly release: string;
  /** `Provides:` beyond the package's own name (`python(abi) = 2.7`). */
  readonly provides?: readonly string[];
  /** `Requires:` of the real package that matter for closure. */
  readonly requires?: readonly string[];
}

/**
 * By upstream repo name (as in `packages-specs/<family>.yaml`). A listed package found here takes
 * its version/release (unless pinned in the list) and its dependencies; the others are added to
 * the repo as extra stand-ins: served, fetched only when something requires them.
 */
export const UPSTREAM_CATALOG: Readonly<Record<string, readonly CatalogRpm[]>> = {
  base: [
    // metalk8s-sosreport requires `sos >= 3.5`.
    { name: 'sos', version: '3.7', release: '10.el7.centos', requires: ['python(abi) = 2.7'] },
    // Provides what rpmbuild's Python dependency generator writes for files under
    // /usr/lib/python2.7 (metalk8s-sosreport's plugins).
    {
      name: 'python',
      version: '2.7.5',
      release: '86.el7',
      provides: ['python(abi) = 2.7', 'python2 = 2.7.5-86.el7'],
    },
  ],
};
