/** Lint rules on `solution.yaml`: product fields and the image list. Pure. */
import path from 'node:path';
import {
  abbreviate,
  imageNameProblem,
  isDigest,
  isRepositoryName,
  tagProblem,
} from '../../../lib/text/distribution-names.ts';
import { error, warning, type Problem } from './problems.ts';
import {
  archiveId,
  ARCHIVE_LAYOUT_VERSION,
  MAX_VOLUME_ID_BYTES,
  isValidProductName,
  isValidSemver,
  isValidSemverRange,
  volumeId,
} from '../build/product.ts';
import { CONFIG_FILE, type SolutionConfig, type SolutionImage } from '../config/solution-config.ts';
import type { TreeEntry } from '../config/tree-scan.ts';

const F = CONFIG_FILE;
const REGISTRY_RE = /^[A-Za-z0-9.-]+(?::\d+)?$/;

/** Product fields: name, version, REQUIRE_METALK8S, layout version, volume id length. */
export function checkProduct(c: SolutionConfig): Problem[] {
  const out: Problem[] = [];
  if (!isValidProductName(c.name)) {
    out.push(
      error(
        'name-format',
        F,
        `name ${JSON.stringify(c.name)} is not a valid product name`,
        'use letters and digits with single dashes or single spaces between words, starting with a letter (e.g. Example Solution), at most 64 characters',
      ),
    );
  }
  if (!isValidSemver(c.version)) {
    out.push(
      error(
        'version-semver',
        F,
        `version ${JSON.stringify(c.version)} is not a semantic version`,
        'use MAJOR.MINOR.PATCH with an optional -prerelease (e.g. 1.0.0 or 1.0.0-dev); build metadata (+...) is not allowed',
      ),
    );
  }
  if (!isValidSemverRange(c.requireMetalK8s)) {
    out.push(
      error(
        'require-metalk8s-range',
        F,
        `requireMetalK8s ${JSON.stringify(c.requireMetalK8s)} is not a valid version range`,
        'write a semver range such as ">=2.4.0" or ">=2.4.0 <2.5.0"',
      ),
    );
  }
  if (c.archiveLayoutVersion !== ARCHIVE_LAYOUT_VERSION) {
    out.push(
      error(
        'layout-version',
        F,
        `archiveLayoutVersion ${String(c.archiveLayoutVersion)} is not supported`,
        `remove the key or set it to ${ARCHIVE_LAYOUT_VERSION} (the only layout this tool and MetalK8s 2.4 know)`,
      ),
    );
  }
  // The env name is the registry prefix of every image: one repository path component.
  const env = archiveId(c.name, c.version);
  if (isValidProductName(c.name) && isValidSemver(c.version) && !isRepositoryName(env)) {
    out.push(
      error(
        'env-name',
        F,
        `the env name ${JSON.stringify(env)} (registry prefix and mount path, which 2.4 derives as <name lowercased, spaces as dashes>-<version>) is not a registry repository name: 2.4 does not lowercase the version`,
        'write the version in lowercase (e.g. 1.0.0-rc1)',
      ),
    );
  }
  const vid = volumeId(c.name, c.version);
  const bytes = Buffer.byteLength(vid, 'utf8');
  if (bytes > MAX_VOLUME_ID_BYTES) {
    out.push(
      error(
        'volume-id-too-long',
        F,
        `the ISO volume id "${vid}" is ${bytes} bytes, more than ${MAX_VOLUME_ID_BYTES}`,
        'shorten the name or the version',
      ),
    );
  }
  return out;
}

/** True when `p` is relative and stays inside the Solution root. */
export function isContainedPath(p: string): boolean {
  if (p === '' || path.isAbsolute(p)) return false;
  const norm = path.posix.normalize(p);
  return norm !== '..' && !norm.startsWith('../');
}

function checkImageContext(
  img: SolutionImage,
  label: string,
  entries: readonly TreeEntry[],
): Problem[] {
  const build = img.build;
  if (build === undefined) return [];
  const inner = [build.file, ...Object.keys(img.hostFiles ?? {})].filter(
    (x): x is string => x !== undefined,
  );
  if (!isContainedPath(build.context) || inner.some((f) => !isContainedPath(f))) {
    return [
      error(
        'path-traversal',
        F,
        `${label}: build path ${JSON.stringify(build.file ?? build.context)} leaves the Solution directory`,
        'use a path relative to the Solution root without ".." (e.g. images/<name>)',
      ),
    ];
  }
  const ctx = path.posix.normalize(build.context).replace(/\/$/, '');
  const dir = entries.find((e) => e.rel === ctx);
  if (dir?.type !== 'dir') {
    return [
      error(
        'image-context',
        F,
        `${label}: build context ${ctx} is not a directory of the Solution`,
        `create ${ctx}/ with a Containerfile, or fix build.context`,
      ),
    ];
  }
  const files = build.file !== undefined ? [build.file] : ['Containerfile', 'Dockerfile'];
  // A regular file of the tree, or a symlink to one that stays inside (escapes are reported
  // by the tree rules).
  const found = files.some((f) =>
    entries.some(
      (e) =>
        e.rel === path.posix.join(ctx, f) &&
        (e.type === 'file' ||
          (e.type === 'symlink' && e.targetType === 'file' && e.escapes !== true)),
    ),
  );
  if (!found) {
    return [
      error(
        'image-context',
        F,
        `${label}: no ${files.join(' or ')} in ${ctx}`,
        `add ${ctx}/${files[0] ?? 'Containerfile'} or set build.file`,
      ),
    ];
  }
  return [];
}

/** Options for {@link checkImages}. */
export interface CheckImagesOptions {
  /** Accept remote images without a pinned digest (ALLOW_UNPINNED_IMAGES). */
  readonly allowUnpinned?: boolean;
}

/** Image names, tags, digests, sources, duplicates and build contexts. */
export function checkImages(
  c: SolutionConfig,
  entries: readonly TreeEntry[],
  opts: CheckImagesOptions = {},
): Problem[] {
  const out: Problem[] = [];
  const seen = new Set<string>();
  for (const img of c.images) {
    const label = `image ${abbreviate(img.name)}:${abbreviate(img.version)}`;
    // One path component each: the static registry serves `images/<name>/<tag>/`.
    const nameProblem = imageNameProblem(img.name);
    if (nameProblem !== undefined) {
      out.push(error('image-name', F, `${label}: ${nameProblem.message}`, nameProblem.fix));
    }
    const versionProblem = tagProblem(img.version);
    if (versionProblem !== undefined) {
      out.push(error('image-tag', F, `${label}: ${versionProblem.message}`, versionProblem.fix));
    }
    const key = `${img.name}:${img.version}`;
    if (seen.has(key))
      out.push(
        error('image-duplicate', F, `${label} is listed twice`, 'remove one of the entries'),
      );
    seen.add(key);
    if (img.digest !== undefined && !isDigest(img.digest)) {
      out.push(
        error(
          'image-digest',
          F,
          `${label}: digest ${JSON.stringify(img.digest)} is not sha256:<64 lowercase hex>`,
          'copy the manifest digest printed by `skopeo inspect --format {{.Digest}} docker://...`',
        ),
      );
    }
    if (img.source !== undefined) {
      if (!REGISTRY_RE.test(img.source.registry) || !isRepositoryName(img.source.repository)) {
        out.push(
          error(
            'image-source',
            F,
            `${label}: source ${img.source.registry}/${img.source.repository} is not <registry>/<repository>`,
            'write e.g. docker.io/library/nginx',
          ),
        );
      }
      if (img.digest === undefined) {
        const p = opts.allowUnpinned === true ? warning : error;
        out.push(
          p(
            'image-unpinned',
            F,
            `${label}: remote image without a pinned digest`,
            'add digest: sha256:... so that builds are reproducible (or set ALLOW_UNPINNED_IMAGES=true for a test build)',
          ),
        );
      }
    }
    out.push(...checkImageContext(img, label, entries));
  }
  return out;
}
