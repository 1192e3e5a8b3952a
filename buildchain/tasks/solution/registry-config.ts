/**
 * nginx config serving `images/<name>/<tag>/` (skopeo `dir:` layouts) as a read-only registry,
 * as `static-container-registry.py --name-prefix P --server-root R --omit-constants` writes it.
 * Pure. For a Solution, P is `{{ repository }}` and R is `{{ registry_root }}`: the output is
 * the Jinja template `registry-config.inc.j2` that MetalK8s renders at import.
 *
 * Why not `images/nginx-registry-config.ts`: its locations refer to named locations
 * (`@registry_manifest_unknown`, ...) that the common config of a MetalK8s 2.4 cluster does not
 * define (it defines `@404_tag`), so nginx there would reject the include. Solutions target the
 * installed MetalK8s, hence this byte-compatible copy of the reference script's output
 * (NicolasT/static-container-registry, 2019-08-06).
 */

/** One image tag found on disk. */
export interface RegistryImage {
  readonly name: string;
  readonly tag: string;
  /** Lowercase hex sha256 of the `manifest.json` bytes. */
  readonly manifestHex: string;
}

/** Options for {@link renderRegistryConfig}. */
export interface RegistryConfigOptions {
  /** Repository prefix (slashes at both ends are stripped), '' for none. */
  readonly namePrefix: string;
  /** Path (or nginx variable / template) prepended to `<name>/<tag>/` in `alias`. */
  readonly serverRoot: string;
}

export const MANIFEST_V2S2 = 'application/vnd.docker.distribution.manifest.v2+json';

function manifestLocation(
  path: string,
  root: string,
  name: string,
  tag: string,
  hex: string,
): string {
  return [
    `location = "${path}" {`,
    `    alias ${root}/${name}/${tag}/;`,
    `    types { } default_type "${MANIFEST_V2S2}";`,
    `    add_header 'Docker-Content-Digest' 'sha256:${hex}';`,
    '    try_files manifest.json =404;',
    '    error_page 404 @404_tag;',
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

/** Location blocks for every image, byte for byte as the reference script writes them. */
export function renderRegistryConfig(
  images: readonly RegistryImage[],
  opts: RegistryConfigOptions,
): string {
  const trimmed = opts.namePrefix.replace(/^\/+|\/+$/g, '');
  const prefix = trimmed === '' ? '' : `${trimmed}/`;
  const root = opts.serverRoot;
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
      blocks.push(manifestLocation(`${base}/manifests/${t.tag}`, root, name, t.tag, t.manifestHex));
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
          ),
        );
      }
      seen.add(t.manifestHex);
    }
    blocks.push(
      [
        `location ~ "${base}/blobs/sha256:([a-f0-9]{64})" {`,
        `    alias ${root}/${name}/;`,
        `    try_files ${tags.map((t) => `${t.tag}/$1`).join(' ')} =404;`,
        '}',
      ].join('\n'),
    );
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
