/**
 * The sources interface (see sources.ts for its contract), apart from the selector so that
 * the implementations (open-sources.ts) and the selector import it without a cycle.
 */
import type { SourcesKind } from '../config/config.ts';
import type { ImageEntry } from '../config/content-types.ts';
import type { EmbeddedMirror } from './embedded/embedded.ts';

/** Where to reach a registry. */
export interface RegistryEndpoint {
  /** `host[:port]`, e.g. `127.0.0.1:40123` or `harbor.example.com`. */
  readonly host: string;
  /**
   * The registry named in the image list (`docker.io`, `k8s.gcr.io`, ...) when the endpoint
   * serves it under its real repository names (upstream and site; not the embedded mirror,
   * which seeds the names as listed): Docker Hub's single names get `library/`.
   */
  readonly upstream?: string;
  /** Repository path prefix on that host ('' or e.g. `dockerhub`, no slashes at the ends). */
  readonly pathPrefix: string;
  /** Plain HTTP / no TLS verification. */
  readonly insecure: boolean;
  /**
   * Known to speak plain HTTP (the embedded mirror's own registry): clients go straight to
   * `http://` instead of probing HTTPS first, as they do for an insecure host.
   */
  readonly plainHttp?: boolean;
  /** containers auth.json to read credentials from, if any. */
  readonly authFile?: string;
}

export interface Sources {
  readonly kind: SourcesKind;
  /** One line for the build banner and product.txt, e.g. `embedded (stand-in content)`. */
  describe(): string;
  /** Endpoint for an upstream registry host (`docker.io`, `quay.io`, ...). */
  registry(upstreamHost: string): Promise<RegistryEndpoint>;
  /**
   * Digest to pull for an image. The pinned digest for upstream/site sources; for the embedded
   * mirror, the digest of the stand-in image seeded under the same name and tag. Undefined when
   * the image is unpinned (upstream/site).
   */
  imageDigest(image: ImageEntry): Promise<string | undefined>;
  /**
   * URL to use for an upstream yum repository base URL (or any URL under it), or any other
   * upstream file URL (source files of `packages-specs/<name>/sources.yaml`, repo GPG keys).
   * Upstream/site: fails fast with `unreachable` when the host does not answer.
   */
  repoUrl(upstreamUrl: string): Promise<string>;
  /**
   * sha256 (hex) a file downloaded from `upstreamUrl` must have: `pinned` for upstream/site;
   * for the embedded mirror, the sha256 of its stand-in (which cannot match the real file).
   * Optional for stand-in implementations: call {@link expectedSha256} instead.
   */
  expectedSha256?(upstreamUrl: string, pinned: string): Promise<string>;
  /**
   * The local file holding what this source serves at `upstreamUrl`, when it serves plain
   * files from this machine (the embedded mirror's web root): a reader needing only the
   * content (a cache key's pins) reads it there, starting no server. Undefined otherwise.
   */
  servedFile?(upstreamUrl: string): Promise<string | undefined>;
  /**
   * The bytes of the manifest `digest` of `image` when this source holds them on this machine
   * (the embedded mirror's registry storage): a pull reads them there, starting no server
   * (the caller checks the digest). Undefined otherwise.
   */
  storedManifest?(image: ImageEntry, digest: string): Promise<Buffer | undefined>;
  /**
   * Directory holding the lock files for this kind of source (package resolution locks):
   * in the repository for upstream/site, under BUILD_ROOT for the embedded mirror (its
   * stand-in content has its own checksums).
   */
  readonly lockDir: string;
  /** Stops whatever was started. Idempotent. */
  stop(): Promise<void>;
  /** The embedded mirror (kind `embedded` only), for `mirror:seed` / `mirror:serve`. */
  readonly embedded?: EmbeddedMirror;
}
