/**
 * nginx config serving `images/<name>/<tag>/` (skopeo `dir:` layouts) as a read-only registry,
 * as `static-container-registry.py --name-prefix P --server-root R --omit-constants` writes it.
 * Pure. For a Solution, P is `{{ repository }}` and R is `{{ registry_root }}`: the output is
 * the Jinja template `registry-config.inc.j2` that MetalK8s renders at import.
 *
 * TODO(images): switch to `buildchain/tasks/images/nginx-registry-config.ts` once it exports
 * the same generator; this file is the Solution's copy until then.
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

function manifestLocation(path: string, root: string, name: string, tag: string, hex: string): string {
  return [
    `location = "${path}" {`,
    `    alias ${root}/${name}/${tag}/;`,
    '    types { }',
    `    default_type "${MANIFEST_V2S2}";`,
    `    add_header 'Docker-Content-Digest' 'sha256:${hex}';`,
    '    try_files manifest.json =404;',
    '    error_page 404 @404_tag;',
    '}',
  ].join('\n');
}

/** Location blocks for every image, sorted by name then tag. */
export function renderRegistryConfig(images: readonly RegistryImage[], opts: RegistryConfigOptions): string {
  const trimmed = opts.namePrefix.replace(/^\/+|\/+$/g, '');
  const prefix = trimmed === '' ? '' : `${trimmed}/`;
  const root = opts.serverRoot.replace(/\/+$/, '');
  const byName = new Map<string, RegistryImage[]>();
  for (const img of images) byName.set(img.name, [...(byName.get(img.name) ?? []), img]);
  const blocks: string[] = [];
  for (const name of [...byName.keys()].sort()) {
    const tags = (byName.get(name) ?? []).slice().sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
    const base = `/v2/${prefix}${name}`;
    blocks.push(
      [
        `location = ${base}/tags/list {`,
        '    types { }',
        '    default_type "application/json";',
        `    return 200 '${JSON.stringify({ name, tags: tags.map((t) => t.tag) }).replace(/,/g, ', ').replace(/":/g, '": ')}';`,
        '}',
      ].join('\n'),
    );
    const served = new Map<string, string>();
    for (const t of tags) {
      blocks.push(manifestLocation(`${base}/manifests/${t.tag}`, root, name, t.tag, t.manifestHex));
      const first = served.get(t.manifestHex);
      if (first !== undefined) {
        blocks.push(`# Digest for "${name}:${t.tag}" already served by "${name}:${first}"`);
      } else {
        served.set(t.manifestHex, t.tag);
        blocks.push(manifestLocation(`${base}/manifests/sha256:${t.manifestHex}`, root, name, t.tag, t.manifestHex));
      }
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
  return blocks.map((b) => `${b}\n`).join('\n');
}

/** The constant locations omitted from Solution configs (MetalK8s serves them once). */
export function renderRegistryConstants(): string {
  return [
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
    '    types { }',
    '    default_type "application/json";',
    `    return 404 '{"errors": [{"code": "TAG_INVALID", "message": "manifest tag did not match URI", "detail": ""}]}';`,
    '}',
    '',
  ].join('\n');
}
