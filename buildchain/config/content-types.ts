/**
 * Shapes of the content lists (images, packages) shared by the images, packages, mirror, ISO,
 * lint and solution code. Loaders: `loadImageList` in `images.ts`, `loadPackageList` in
 * `packages.ts` (same folder).
 */

/** One container image the ISO (or a Solution) carries. */
export interface ImageEntry {
  /** Name on the ISO registry, e.g. `calico-node` (distribution name grammar). */
  readonly name: string;
  /** Tag, e.g. `v3.8.2`; the directory `images/<name>/<version>/`. */
  readonly version: string;
  /** Remote images: where to pull from. Absent for local builds. */
  readonly source?: {
    /** Upstream registry host, e.g. `quay.io`, `k8s.gcr.io`, `docker.io`. */
    readonly registry: string;
    /** Repository on that registry, e.g. `calico/node`, `library/nginx`. */
    readonly repository: string;
  };
  /** Pinned manifest digest `sha256:<64 hex>`; absent = unpinned. */
  readonly digest?: string;
  /** `dir`: `images/<name>/<version>/` layout served by nginx; `archive`: a docker-archive tar. */
  readonly ship: 'dir' | 'archive';
  /** For `archive`: the path of the tar relative to the ISO root. */
  readonly archivePath?: string;
  /** `linux/amd64` (default) or `all` to keep the whole manifest list / OCI index. */
  readonly platforms: 'linux/amd64' | 'all';
  /** Local builds: context directory relative to the repository root, and build args. */
  readonly build?: {
    readonly context: string;
    /** Containerfile/Dockerfile relative to the context (default: Dockerfile). */
    readonly file?: string;
    readonly args?: Readonly<Record<string, string>>;
  };
}

/** An upstream yum repository packages are downloaded from. */
export interface RepoSpec {
  /** Short name, e.g. `base`, `epel`, `kubernetes`, `saltstack`. */
  readonly name: string;
  /** Upstream base URL (the directory holding `repodata/`). */
  readonly baseUrl: string;
  /** URLs of the GPG keys that sign the repo's RPMs (empty: unsigned). */
  readonly gpgKeys: readonly string[];
  /** Directory name on the ISO, e.g. `metalk8s-epel-el7`. */
  readonly isoName: string;
}

/** A package to download (with its dependencies) or to build from `packages-specs/`. */
export interface PackageSpec {
  readonly name: string;
  readonly version?: string;
  readonly release?: string;
  /**
   * Repo name (RepoSpec.name) it is downloaded from, or `scality` when built locally. '' when the
   * list does not say (the resolver picks the best version across all repos).
   */
  readonly repo: string;
  /** True for packages built from `packages-specs/<name>/`. */
  readonly built: boolean;
}

/** The package list of one OS family (e.g. `redhat-7`). */
export interface PackageList {
  readonly osFamily: string;
  /** e.g. `7` (dnf --releasever). */
  readonly releasever: string;
  /** e.g. `x86_64` (the `$basearch` of repo URLs). Absent: `x86_64`. */
  readonly basearch?: string;
  /** Dist tag of repo names on the ISO and of local builds (`el7` → `%{dist}` = `.el7`). */
  readonly distTag?: string;
  readonly repos: readonly RepoSpec[];
  readonly packages: readonly PackageSpec[];
}
