/**
 * One image reference as the cluster will read it once MetalK8s renders the archive: the
 * archive prefix (`{{ repository }}/`) removed, leaving the image's name inside the archive;
 * a registry host marks an image from elsewhere. Pure.
 */
import {
  isDigest,
  isRegistryHost,
  isRepositoryName,
  isTag,
} from '../../../lib/text/distribution-names.ts';

/**
 * How a reference names its registry:
 * - `archive`: after the archive prefix (`{{ repository }}/` or `@REPOSITORY@/`): served by
 *   the Solution's own registry include;
 * - `bare`: no registry at all (`my-operator:1.0.0`): matched against the archive's images by
 *   name and tag;
 * - `external`: an explicit registry host (`quay.io/x/y:1`), not served by the archive;
 * - `invalid`: not an image reference once rendered (a placeholder such as `REPLACE_IMAGE`,
 *   a leftover template expression, uppercase letters).
 */
export type ImageRefKind = 'archive' | 'bare' | 'external' | 'invalid';

/** One image reference found in a manifest. */
export interface ImageRef {
  /** Name after the archive prefix (or after the registry host), e.g. `my-operator`. */
  readonly image: string;
  /** Tag; `latest` when the reference has neither tag nor digest, '' for a digest only. */
  readonly tag: string;
  /** Manifest file, relative to the Solution root (= its path on the ISO). */
  readonly file: string;
  /** Where in the file, e.g. `Deployment/foo container bar` or `Instance/x spec.image`. */
  readonly where: string;
  /** The reference as written (after the build's `ui/` substitutions). */
  readonly raw: string;
  readonly kind: ImageRefKind;
  /** `sha256:...` when the reference pins a digest. */
  readonly digest?: string;
  /** The registry host of an `external` reference. */
  readonly registry?: string;
}

/** The archive prefix MetalK8s renders (Jinja, any spacing). */
const ARCHIVE_PREFIX = /^\{\{-?\s*repository\s*-?\}\}\//;

/**
 * A plain YAML scalar standing for `{{ repository }}`. 2.4 renders ui/ files with Jinja before
 * reading them as YAML, so `image: {{ repository }}/app:1` is valid there even unquoted; lint
 * parses them with this stand-in instead (ui-jinja.ts puts it in; it maps back to the archive
 * prefix below).
 */
export const REPOSITORY_STAND_IN = 'repository.metalk8s-archive.invalid';

/** Where a reference was found. */
export interface Location {
  readonly file: string;
  readonly where: string;
}

/** Splits `name[:tag][@digest]` (no registry) into its parts; undefined when malformed. */
function splitNameTag(rest: string): { name: string; tag: string; digest?: string } | undefined {
  let s = rest;
  let digest: string | undefined;
  const at = s.indexOf('@');
  if (at >= 0) {
    digest = s.slice(at + 1);
    s = s.slice(0, at);
    if (!isDigest(digest)) return undefined;
  }
  const slash = s.lastIndexOf('/');
  const colon = s.lastIndexOf(':');
  let name = s;
  let tag = digest === undefined ? 'latest' : '';
  if (colon > slash) {
    name = s.slice(0, colon);
    tag = s.slice(colon + 1);
    if (!isTag(tag)) return undefined;
  }
  if (!isRepositoryName(name)) return undefined;
  return digest === undefined ? { name, tag } : { name, tag, digest };
}

/** Reads one reference string. Pure. */
export function parseImageRef(raw: string, loc: Location): ImageRef {
  const written = raw.replaceAll(REPOSITORY_STAND_IN, '{{ repository }}');
  const invalid: ImageRef = {
    image: written,
    tag: '',
    file: loc.file,
    where: loc.where,
    raw: written,
    kind: 'invalid',
  };
  const trimmed = raw.trim().replaceAll(REPOSITORY_STAND_IN, '{{ repository }}');
  let kind: ImageRefKind;
  let rest: string;
  let registry: string | undefined;
  const prefix = ARCHIVE_PREFIX.exec(trimmed);
  if (prefix !== null) {
    kind = 'archive';
    rest = trimmed.slice(prefix[0].length);
  } else {
    const first = trimmed.split('/')[0] ?? '';
    // The distribution rule: a first component with a dot, a port or `localhost` is a host.
    const isHost =
      trimmed.includes('/') &&
      (first.includes('.') || first.includes(':') || first === 'localhost');
    if (isHost) {
      if (!isRegistryHost(first)) return invalid;
      kind = 'external';
      registry = first;
      rest = trimmed.slice(first.length + 1);
    } else {
      kind = 'bare';
      rest = trimmed;
    }
  }
  const parts = splitNameTag(rest);
  if (parts === undefined) return invalid;
  return {
    image: parts.name,
    tag: parts.tag,
    file: loc.file,
    where: loc.where,
    raw: written,
    kind,
    ...(parts.digest !== undefined ? { digest: parts.digest } : {}),
    ...(registry !== undefined ? { registry } : {}),
  };
}
