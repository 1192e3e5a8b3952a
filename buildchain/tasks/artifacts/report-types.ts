/**
 * The build report (`build-report.json`): what CI publishes beside the ISO. Every size and
 * digest is recomputed from the ISO root tree and the ISO file, never copied from inputs.
 */

/** Bytes counted two ways: every name (logical) and every inode once (deduplicated, as on the ISO). */
export interface ByteCounts {
  readonly logicalBytes: number;
  readonly dedupBytes: number;
  readonly files: number;
}

/** A container image found under the ISO root. */
export interface ReportImage {
  /** Repository name on the ISO registry, e.g. `calico-node`. */
  readonly name: string;
  /** Tag, e.g. `v3.8.2`. */
  readonly version: string;
  /** `dir`: `images/<name>/<version>/` served by nginx; `archive`: a docker-archive tar. */
  readonly ship: 'dir' | 'archive';
  /** Path relative to the ISO root (directory or tar). */
  readonly path: string;
  /**
   * `dir`: sha256 of manifest.json (what registries serve as Docker-Content-Digest).
   * `archive`: the image config digest (an archive carries no registry manifest).
   */
  readonly digest: string;
  /** manifest media type (`dir`), or `docker-archive`. */
  readonly mediaType: string;
  /** `archive` only: sha256 of the tar file. */
  readonly archiveSha256?: string;
  /** Config and layer blob digests (`sha256:...`) with their sizes in bytes. */
  readonly blobs: readonly { readonly digest: string; readonly size: number }[];
  readonly bytes: ByteCounts;
}

/** An RPM found in a repository under the ISO root. */
export interface ReportRpm {
  readonly name: string;
  /** Absent when the package has no epoch. */
  readonly epoch?: number;
  readonly version: string;
  readonly release: string;
  readonly arch: string;
  /** `name-[epoch:]version-release.arch` */
  readonly nevra: string;
  /** sha256 of the file, hex. */
  readonly sha256: string;
  readonly size: number;
  /** Path relative to the ISO root. */
  readonly path: string;
  /** Repository directory name, e.g. `metalk8s-epel-el7`. */
  readonly repo: string;
}

/** A yum repository found under the ISO root (a directory holding `repodata/repomd.xml`). */
export interface ReportRepo {
  readonly name: string;
  readonly path: string;
  readonly rpms: number;
  readonly bytes: ByteCounts;
}

/** Per-task outcome read from the engine's JSON event log. */
export interface ReportTask {
  readonly task: string;
  /** `restored`: its outputs came from the build cache (BUILD_CACHE) instead of running. */
  readonly status: 'done' | 'up-to-date' | 'restored' | 'failed' | 'skipped' | 'running';
  /** Action wall-clock time in ms (0 when up to date; the restore time when restored). */
  readonly durationMs: number;
  /** `restored` only: bytes downloaded from the build cache. */
  readonly cacheBytes?: number;
}

/** Root of build-report.json. */
export interface BuildReport {
  /** Format identifier; bump the number on incompatible changes. */
  readonly schema: 'metalk8s-buildchain/build-report@1';
  readonly project: string;
  readonly version: string;
  /** product.txt GIT (git describe), '' when unknown. */
  readonly gitRef: string;
  /** product.txt SOURCES (where images and RPMs came from). */
  readonly sources: string;
  /** product.txt as key/value pairs. */
  readonly product: Readonly<Record<string, string>>;
  readonly iso: {
    readonly file: string;
    readonly size: number;
    readonly sha256: string;
    readonly signed: boolean;
  };
  readonly sizes: {
    readonly iso: number;
    readonly tree: ByteCounts;
    readonly images: ByteCounts;
    readonly repositories: ByteCounts;
  };
  readonly images: readonly ReportImage[];
  readonly repositories: readonly ReportRepo[];
  readonly rpms: readonly ReportRpm[];
  /** From the JSON event log; undefined when the build was not run with `--json-log`. */
  readonly build:
    | {
        readonly tasks: readonly ReportTask[];
        readonly ran: number;
        readonly upToDate: number;
        /** Tasks restored from the build cache. */
        readonly restored: number;
        readonly failed: number;
        readonly totalMs: number;
      }
    | undefined;
}
