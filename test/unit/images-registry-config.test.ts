import { describe, expect, it } from 'vitest';
import {
  MEDIA_DOCKER_LIST,
  MEDIA_DOCKER_MANIFEST,
  MEDIA_OCI_MANIFEST,
} from '../../buildchain/lib/oci/manifest.ts';
import {
  COMMON_NAMED_LOCATIONS,
  generateRegistryConfig,
  regexEscape,
} from '../../buildchain/tasks/images/nginx-registry-config.ts';
import { renderRegistryConfig } from '../../buildchain/tasks/solution/build/registry-config.ts';
import type { ScannedRepo } from '../../buildchain/tasks/images/registry-scan.ts';
import { registryNaming } from '../../buildchain/tasks/images/write-registry-config.ts';

const d = (c: string): string => `sha256:${c.repeat(64)}`;
const repos: ScannedRepo[] = [
  {
    name: 'tiny',
    tags: [
      {
        tag: '2.0',
        manifest: { digest: d('b'), mediaType: MEDIA_DOCKER_MANIFEST, file: 'manifest.json' },
        instances: [],
      },
      {
        tag: '1.0',
        manifest: { digest: d('a'), mediaType: MEDIA_DOCKER_MANIFEST, file: 'manifest.json' },
        instances: [],
      },
      {
        tag: 'latest',
        manifest: { digest: d('a'), mediaType: MEDIA_DOCKER_MANIFEST, file: 'manifest.json' },
        instances: [],
      },
    ],
  },
  {
    name: 'multi',
    tags: [
      {
        tag: '1.0',
        manifest: { digest: d('c'), mediaType: MEDIA_DOCKER_LIST, file: 'manifest.json' },
        instances: [
          {
            digest: d('e'),
            mediaType: MEDIA_OCI_MANIFEST,
            file: `${'e'.repeat(64)}.manifest.json`,
          },
        ],
      },
    ],
  },
];

describe('nginx registry config', () => {
  const conf = generateRegistryConfig({
    repos,
    namePrefix: '/metalk8s-2.4.0/',
    serverRoot: '$metalk8s_2_4_0_images',
  });

  it('serves tags and each distinct digest once, with exact types and digests', () => {
    expect(conf).toContain('location = "/v2/metalk8s-2.4.0/tiny/manifests/1.0" {');
    expect(conf).toContain('location = "/v2/metalk8s-2.4.0/tiny/manifests/latest" {');
    expect(conf.split(`location = "/v2/metalk8s-2.4.0/tiny/manifests/${d('a')}"`)).toHaveLength(2);
    expect(conf).toContain(`location = "/v2/metalk8s-2.4.0/multi/manifests/${d('e')}" {`);
    expect(conf).toContain(`try_files ${'e'.repeat(64)}.manifest.json =404;`);
    expect(conf).toContain(`default_type "${MEDIA_DOCKER_LIST}";`);
    expect(conf).toContain(`add_header Docker-Content-Digest "${d('b')}";`);
    expect(conf).toContain('alias "$metalk8s_2_4_0_images/tiny/2.0/";');
    expect(conf).toContain(
      `return 200 '{"name":"metalk8s-2.4.0/tiny","tags":["1.0","2.0","latest"]}';`,
    );
    expect(conf).toContain(
      `return 200 '{"repositories":["metalk8s-2.4.0/multi","metalk8s-2.4.0/tiny"]}';`,
    );
  });

  it('anchors and escapes blob patterns; blobs only from the repository tag dirs', () => {
    expect(conf).toContain(
      'location ~ "^/v2/metalk8s-2\\.4\\.0/tiny/blobs/sha256:([a-f0-9]{64})$" {',
    );
    expect(conf).toContain('try_files 1.0/$1 2.0/$1 latest/$1 =404;');
    // Literals escaped here; a Jinja piece gets filters escaping its rendered value.
    const escaped = regexEscape('a.b+c/{{ repository }}');
    expect(escaped).toMatch(/^a\\\.b\\\+c\/\{\{ repository \| string \| replace\(/);
    expect(escaped).toContain("| replace('.', '\\\\.') |");
    expect(escaped).toContain("| replace('+', '\\\\+') |");
  });

  it('answers errors as registry JSON', () => {
    expect(conf).toContain('"code":"NAME_UNKNOWN"');
    expect(conf).toContain('"code":"MANIFEST_UNKNOWN"');
    expect(conf).toContain('"code":"BLOB_UNKNOWN"');
    expect(conf).toContain('error_page 404 = @registry_blob_unknown;');
  });

  it('is deterministic whatever the input order', () => {
    const reversed = [...repos].reverse().map((r) => ({ ...r, tags: [...r.tags].reverse() }));
    expect(
      generateRegistryConfig({
        repos: reversed,
        namePrefix: 'metalk8s-2.4.0',
        serverRoot: '$metalk8s_2_4_0_images/',
      }),
    ).toBe(conf);
  });

  it('splits constants and images; keeps Solution template pieces verbatim', () => {
    const only = generateRegistryConfig({ repos, serverRoot: '/srv', constants: 'only' });
    expect(only).toContain('location = /v2/ {');
    expect(only).not.toContain('tiny');
    const omit = generateRegistryConfig({
      repos,
      serverRoot: '{{ registry_root }}',
      namePrefix: '{{ repository }}',
      constants: 'omit',
    });
    expect(omit).not.toContain('location = /v2/ {');
    expect(omit).not.toContain('_catalog');
    expect(omit).toContain('location = "/v2/{{ repository }}/tiny/tags/list"');
    expect(omit).toContain('alias "{{ registry_root }}/tiny/1.0/";');
    // A ';' is carried inside the quoted string; a newline or a Jinja filter is refused.
    expect(generateRegistryConfig({ repos, serverRoot: '/srv; evil' })).toContain(
      'alias "/srv; evil/tiny/1.0/";',
    );
    expect(() => generateRegistryConfig({ repos, serverRoot: '/srv;\nevil' })).toThrow(
      'server root',
    );
    expect(() => generateRegistryConfig({ repos, serverRoot: '{{ x | y }}' })).toThrow(
      'server root',
    );
  });

  it('common include defines every named location our and the reference includes use', () => {
    const common = generateRegistryConfig({ repos: [], serverRoot: '/srv', constants: 'only' });
    const defined = [...common.matchAll(/^location (@\w+) \{/gm)].map((m) => m[1]);
    expect(defined.sort()).toEqual([...COMMON_NAMED_LOCATIONS].sort());
    // A Solution include in the reference format (static-container-registry.py) uses @404_tag.
    const reference = renderRegistryConfig(
      [{ name: 'app', tag: '1.0', manifestHex: 'a'.repeat(64) }],
      {
        namePrefix: '{{ repository }}',
        serverRoot: '{{ registry_root }}',
      },
    );
    const used = [conf, reference].flatMap((text) =>
      [...text.matchAll(/error_page 404 =? ?(@\w+);/g)].map((m) => m[1]),
    );
    expect(used).toContain('@404_tag');
    for (const name of used) expect(defined).toContain(name);
    // Registry JSON, not nginx's HTML page or TAG_INVALID.
    expect(common).toMatch(
      /location @404_tag \{[\s\S]*?default_type application\/json;\n {4}return 404 '\{"errors":\[\{"code":"MANIFEST_UNKNOWN"/,
    );
  });

  it('names the prefix and server root as Salt expects', () => {
    expect(registryNaming('MetalK8s', '2.4.0-beta1')).toEqual({
      namePrefix: 'metalk8s-2.4.0-beta1/',
      serverRoot: '$metalk8s_2_4_0_beta1_images',
    });
  });
});
