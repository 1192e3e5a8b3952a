/**
 * nginx config serving `images/<name>/<tag>/` (skopeo `dir:` layouts) as a read-only registry,
 * as `static-container-registry.py --name-prefix P --server-root R --omit-constants` writes it.
 * Pure. For a Solution, P is `{{ repository }}` and R is `{{ registry_root }}`: the output is
 * the Jinja template `registry-config.inc.j2` that MetalK8s renders at import.
 *
 * Why not `images/nginx-registry-config.ts`: its locations refer to named locations
 * (`@registry_manifest_unknown`, ...) that the common config of a MetalK8s 2.4 cluster does not
 * define (it defines `@404_tag`), so nginx there would reject the include. Solutions target the
 * installed MetalK8s, hence this copy of the reference script's output (NicolasT/
 * static-container-registry, 2019-08-06), with two changes to its regex locations: one per
 * image answers an unknown tag or digest with MANIFEST_UNKNOWN (the reference lets it fall to
 * `/v2/`: NAME_UNKNOWN), and the blob pattern is anchored and escaped (the reference's is
 * neither: the dots of `{{ repository }}` and of names match any character). Because that
 * format leaves names, tags and the root unquoted, they are checked (distribution grammar,
 * plain path) and refused otherwise.
 */
import {
  describeChar,
  expressionPieces,
  regexEscape,
  rejectValue,
  requireRepositoryName,
  requireTag,
} from '../../../lib/text/quote.ts';

/** One image tag found on disk. */
export interface RegistryImage {
  readonly name: string;
  readonly tag: string;
  /** Lowercase hex sha256 of the `manifest.json` bytes. */
  readonly manifestHex: string;
  /**
   * Media type of `manifest.json` (default Docker v2s2, the reference's only one). A Docker
   * manifest list (a multi-arch image, `platforms:`) is served as the tag's manifest, and each
   * of its instances by digest from `<hex>.manifest.json`.
   */
  readonly mediaType?: string;
  readonly instances?: readonly RegistryInstance[];
}

/** One platform's manifest of a list, in `<hex>.manifest.json` beside the list. */
export interface RegistryInstance {
  readonly hex: string;
  readonly mediaType: string;
}

/** Options for {@link renderRegistryConfig}. */
export interface RegistryConfigOptions {
  /** Repository prefix (slashes at both ends are stripped), '' for none. */
  readonly namePrefix: string;
  /** Path (or nginx variable / template) prepended to `<name>/<tag>/` in `alias`. */
  readonly serverRoot: string;
  /**
   * true: the reference script's output, byte for byte (`verify` renders it to recognise
   * older ISOs): no location answering an unknown tag or digest of an image with 404
   * `MANIFEST_UNKNOWN` (it falls to the common `/v2/` location: `NAME_UNKNOWN`), and a blob
   * pattern neither anchored nor escaped. Default false: both fixed.
   */
  readonly reference?: boolean;
}

export const MANIFEST_V2S2 = 'application/vnd.docker.distribution.manifest.v2+json';
export const MANIFEST_LIST_V2 = 'application/vnd.docker.distribution.manifest.list.v2+json';
/** What a Solution's registry serves: v2s2 images and lists of them (MetalK8s pulls v2s2). */
const SERVED_TYPES = new Set([MANIFEST_V2S2, MANIFEST_LIST_V2]);

const PREFIX_FIX =
  'use lowercase name components joined by "/", or a Jinja expression ({{ name }})';
const ROOT_FIX =
  'use a path of letters, digits and ._+,:@=~/- (the reference format writes it unquoted), ' +
  'an nginx variable ($name) or a Jinja expression ({{ name }})';
/** Characters an unquoted nginx token carries as they are. */
const NOT_UNQUOTED_SAFE = /[^A-Za-z0-9._+,:@=~/-]/;

/**
 * The reference format writes names, tags and the root unquoted: anything outside the
 * distribution grammar (names, tags) or a plain path (root) is refused, so that no value can
 * end a directive or open a block.
 */
function checkInputs(images: readonly RegistryImage[], prefix: string, root: string): void {
  const prefixPieces = expressionPieces(prefix, 'name prefix', PREFIX_FIX, { templates: true });
  if (prefixPieces.every((p) => p.kind === 'literal') && prefix !== '') {
    requireRepositoryName(prefix, 'name prefix', PREFIX_FIX);
  }
  for (const p of prefixPieces) {
    if (p.kind === 'literal' && !/^[a-z0-9._/-]+$/.test(p.text)) {
      rejectValue(
        'name prefix',
        prefix,
        'mixes a Jinja expression with characters outside [a-z0-9._/-]',
        PREFIX_FIX,
      );
    }
  }
  for (const p of expressionPieces(root, 'server root', ROOT_FIX, {
    templates: true,
    variables: true,
  })) {
    const bad = p.kind === 'literal' ? NOT_UNQUOTED_SAFE.exec(p.text)?.[0] : undefined;
    if (bad !== undefined) {
      rejectValue(
        'server root',
        root,
        `holds ${describeChar(bad)}, which an unquoted nginx path cannot carry`,
        ROOT_FIX,
      );
    }
  }
  for (const img of images) {
    requireRepositoryName(img.name, 'image name');
    requireTag(img.tag, `tag of image ${img.name}`);
    for (const [what, hex] of [
      [`manifest digest of ${img.name}:${img.tag}`, img.manifestHex],
      ...(img.instances ?? []).map((i) => [`instance digest of ${img.name}:${img.tag}`, i.hex]),
    ] as const) {
      if (!/^[a-f0-9]{64}$/.test(hex))
        rejectValue(what, hex, 'is not 64 lowercase hex digits', 'rebuild the images directory');
    }
    for (const type of [img.mediaType, ...(img.instances ?? []).map((i) => i.mediaType)]) {
      if (type !== undefined && !SERVED_TYPES.has(type))
        rejectValue(
          `media type of ${img.name}:${img.tag}`,
          type,
          'is not a Docker v2s2 manifest or manifest list',
          'copy the image with `skopeo copy --format v2s2`',
        );
    }
  }
}

function manifestLocation(
  path: string,
  root: string,
  name: string,
  tag: string,
  hex: string,
  mediaType = MANIFEST_V2S2,
  file = 'manifest.json',
): string {
  return [
    `location = "${path}" {`,
    `    alias ${root}/${name}/${tag}/;`,
    `    types { } default_type "${mediaType}";`,
    `    add_header 'Docker-Content-Digest' 'sha256:${hex}';`,
    `    try_files ${file} =404;`,
    '    error_page 404 @404_tag;',
    '}',
  ].join('\n');
}

/** The distribution spec's error for a manifest (tag or digest) a known repository lacks. */
const MANIFEST_UNKNOWN =
  '{"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown", "detail": {}}]}';

/**
 * Any other reference of a served repository: 404 MANIFEST_UNKNOWN. Exact locations (the
 * tags and digests served) win over regex ones, so only unknown references get here.
 * `pattern` is the escaped base (see {@link blobLocation}).
 */
function manifestFallbackLocation(pattern: string): string {
  return [
    `location ~ "^${pattern}/manifests/[^/]+$" {`,
    '    add_header Docker-Distribution-Api-Version registry/2.0 always;',
    '    types { } default_type "application/json";',
    `    return 404 '${MANIFEST_UNKNOWN}';`,
    '}',
  ].join('\n');
}

/**
 * The blobs of an image, from any of its tags' directories. The reference's pattern is
 * `base` as it is, unanchored; ours is anchored and escaped, Jinja included (`{{ repository |
 * string | replace('.', '\\.') ...}}`), so that a rendered `a.b` does not serve `aXb`.
 */
function blobLocation(
  base: string,
  reference: boolean,
  root: string,
  name: string,
  tags: readonly RegistryImage[],
): string {
  const pattern = reference
    ? `${base}/blobs/sha256:([a-f0-9]{64})`
    : `^${regexEscape(base)}/blobs/sha256:([a-f0-9]{64})$`;
  return [
    `location ~ "${pattern}" {`,
    `    alias ${root}/${name}/;`,
    `    try_files ${tags.map((t) => `${t.tag}/$1`).join(' ')} =404;`,
    '}',
  ].join('\n');
}

/** Python's default sort of str (code points). */
function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The script writes each block as `\n<block>\n`. */
function joinBlocks(blocks: readonly string[]): string {
  return blocks.map((b) => `\n${b}\n`).join('');
}

/** Location blocks for every image, as the reference script writes them (see {@link RegistryConfigOptions.reference}). */
export function renderRegistryConfig(
  images: readonly RegistryImage[],
  opts: RegistryConfigOptions,
): string {
  const trimmed = opts.namePrefix.replace(/^\/+|\/+$/g, '');
  const prefix = trimmed === '' ? '' : `${trimmed}/`;
  const root = opts.serverRoot;
  checkInputs(images, trimmed, root);
  const byName = new Map<string, RegistryImage[]>();
  for (const img of images) byName.set(img.name, [...(byName.get(img.name) ?? []), img]);
  const blocks: string[] = [];
  for (const name of [...byName.keys()].sort(byCodePoint)) {
    const tags = (byName.get(name) ?? []).slice().sort((a, b) => byCodePoint(a.tag, b.tag));
    const base = `/v2/${prefix}${name}`;
    const payload = JSON.stringify({ name, tags: tags.map((t) => t.tag) })
      .replace(/,/g, ', ')
      .replace(/":/g, '": ');
    blocks.push(
      [
        `location = ${base}/tags/list {`,
        '    types { } default_type "application/json";',
        `    return 200 '${payload}';`,
        '}',
      ].join('\n'),
    );
    const seen = new Set<string>();
    for (const t of tags) {
      const type = t.mediaType ?? MANIFEST_V2S2;
      blocks.push(
        manifestLocation(`${base}/manifests/${t.tag}`, root, name, t.tag, t.manifestHex, type),
      );
      if (seen.has(t.manifestHex)) {
        blocks.push(`# Digest for "${name}:${t.tag}" already served`);
      } else {
        blocks.push(
          manifestLocation(
            `${base}/manifests/sha256:${t.manifestHex}`,
            root,
            name,
            t.tag,
            t.manifestHex,
            type,
          ),
        );
      }
      seen.add(t.manifestHex);
      // A list's instances, by digest only (what a puller asks for after reading the list).
      for (const i of t.instances ?? []) {
        if (seen.has(i.hex)) continue;
        seen.add(i.hex);
        const at = `${base}/manifests/sha256:${i.hex}`;
        blocks.push(
          manifestLocation(at, root, name, t.tag, i.hex, i.mediaType, `${i.hex}.manifest.json`),
        );
      }
    }
    const reference = opts.reference === true;
    blocks.push(blobLocation(base, reference, root, name, tags));
    if (!reference) blocks.push(manifestFallbackLocation(regexEscape(base)));
  }
  return joinBlocks(blocks);
}

/** The constant locations omitted from Solution configs (MetalK8s serves them once). */
export function renderRegistryConstants(): string {
  const tagInvalid =
    '{"errors": [{"code": "TAG_INVALID", "message": "manifest tag did not match URI", "detail": ""}]}';
  return [
    '',
    'location = /v2 {',
    '    return 301 /v2/;',
    '}',
    '',
    'location = /v2/ {',
    "    return 200 'ok';",
    '}',
    '',
    'location @404_tag {',
    '    internal;',
    '    types { } default_type "application/json";',
    `    return 404 '${tagInvalid}';`,
    '}',
    '',
  ].join('\n');
}
