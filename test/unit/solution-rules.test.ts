import { describe, expect, it } from 'vitest';
import {
  parseSolutionArgs,
  SolutionUsageError,
} from '../../buildchain/tasks/solution/config/cli-args.ts';
import {
  isoSizes,
  parseIsoinfoD,
  parseIsoinfoListing,
} from '../../buildchain/media/iso/isoinfo-listing.ts';
import {
  checkImages,
  checkProduct,
} from '../../buildchain/tasks/solution/lint/lint-config-rules.ts';
import { checkTree } from '../../buildchain/tasks/solution/lint/lint-tree-rules.ts';
import { checkManifests } from '../../buildchain/tasks/solution/lint/lint-yaml-rules.ts';
import { renderRegistryConfig } from '../../buildchain/tasks/solution/build/registry-config.ts';
import { shippedFiles } from '../../buildchain/tasks/solution/lint/ship-rules.ts';
import { parseSolutionConfig } from '../../buildchain/tasks/solution/config/solution-config.ts';
import type { TreeEntry } from '../../buildchain/tasks/solution/config/tree-scan.ts';
import { BASE_SOLUTION_CONFIG } from '../helpers/solution-config.ts';

const base = BASE_SOLUTION_CONFIG;
const codes = (ps: readonly { code: string }[]): string[] => ps.map((p) => p.code);
const file = (rel: string): TreeEntry => ({ rel, type: 'file', readable: true });
const dir = (rel: string): TreeEntry => ({ rel, type: 'dir', readable: true });

describe('solution.yaml parsing', () => {
  it('maps remote and local images to image entries', () => {
    const r = parseSolutionConfig(
      `name: A\nversion: 1.0.0\nrequireMetalK8s: ">=2.4"\nimages:\n  - {name: web, version: "1.25", source: docker.io/library/nginx, digest: "sha256:${'a'.repeat(64)}"}\n  - {name: app, version: 1.0.0, build: {context: images/app, hostFiles: {busybox: /bin/busybox}}}\n`,
    );
    expect(r.problems).toEqual([]);
    expect(r.config?.images[0]).toMatchObject({
      name: 'web',
      source: { registry: 'docker.io', repository: 'library/nginx' },
      ship: 'dir',
    });
    expect(r.config?.images[1]).toMatchObject({
      name: 'app',
      build: { context: 'images/app' },
      hostFiles: { busybox: '/bin/busybox' },
    });
  });

  it('reports invalid YAML, unknown keys and images with both or neither source and build', () => {
    expect(codes(parseSolutionConfig('name: [').problems)).toEqual(['config-invalid']);
    expect(codes(parseSolutionConfig('name: A\nfoo: 1\n').problems)).toEqual(['config-invalid']);
    expect(codes(parseSolutionConfig('images:\n  - {name: a, version: "1"}\n').problems)).toEqual([
      'image-source',
    ]);
  });
});

describe('product and image rules', () => {
  it('flags each bad product field with its own code', () => {
    expect(codes(checkProduct(base))).toEqual([]);
    expect(codes(checkProduct({ ...base, name: 'bad_name' }))).toEqual(['name-format']);
    expect(codes(checkProduct({ ...base, version: '1.0' }))).toEqual(['version-semver']);
    expect(codes(checkProduct({ ...base, requireMetalK8s: 'soon' }))).toEqual([
      'require-metalk8s-range',
    ]);
    expect(codes(checkProduct({ ...base, archiveLayoutVersion: 2 }))).toEqual(['layout-version']);
    expect(
      codes(checkProduct({ ...base, name: 'A-very-long-solution-name', version: '10.0.0-beta' })),
    ).toEqual(['volume-id-too-long']);
  });

  it('checks names, tags, digests, pins, duplicates and contexts', () => {
    const entries = [dir('images'), dir('images/app'), file('images/app/Containerfile')];
    const ok = {
      name: 'app',
      version: '1.0.0',
      ship: 'dir' as const,
      platforms: 'linux/amd64' as const,
      build: { context: 'images/app' },
    };
    expect(checkImages({ ...base, images: [ok] }, entries)).toEqual([]);
    const remote = {
      name: 'web',
      version: '1',
      ship: 'dir' as const,
      platforms: 'linux/amd64' as const,
      source: { registry: 'docker.io', repository: 'library/nginx' },
    };
    expect(codes(checkImages({ ...base, images: [{ ...ok, name: 'App/x' }] }, entries))).toEqual([
      'image-name',
    ]);
    expect(codes(checkImages({ ...base, images: [{ ...ok, version: '-x' }] }, entries))).toEqual([
      'image-tag',
    ]);
    expect(
      codes(checkImages({ ...base, images: [{ ...remote, digest: 'sha256:abc' }] }, entries)),
    ).toEqual(['image-digest']);
    expect(codes(checkImages({ ...base, images: [remote] }, entries))).toEqual(['image-unpinned']);
    expect(
      checkImages({ ...base, images: [remote] }, entries, { allowUnpinned: true })[0]?.severity,
    ).toBe('warning');
    expect(codes(checkImages({ ...base, images: [ok, ok] }, entries))).toEqual(['image-duplicate']);
    expect(
      codes(
        checkImages({ ...base, images: [{ ...ok, build: { context: '../outside' } }] }, entries),
      ),
    ).toEqual(['path-traversal']);
    expect(
      codes(
        checkImages({ ...base, images: [{ ...ok, build: { context: 'images/none' } }] }, entries),
      ),
    ).toEqual(['image-context']);
  });
});

describe('tree rules', () => {
  it('ships operator/deploy and ui YAML only and reports what would be dropped', () => {
    const entries = [
      dir('operator'),
      dir('operator/deploy'),
      file('operator/deploy/role.yaml'),
      file('operator/deploy/notes.txt'),
      file('operator/main.go'),
      dir('ui'),
      file('ui/deployment.yml'),
      file('stray.txt'),
    ];
    expect(shippedFiles(entries)).toEqual(['operator/deploy/role.yaml']);
    const ps = checkTree(entries, []);
    expect(ps.filter((p) => p.code === 'dropped-file').map((p) => p.file)).toEqual([
      'operator/deploy/notes.txt',
      'operator/main.go',
      'ui/deployment.yml',
    ]);
    expect(ps.find((p) => p.file === 'stray.txt')).toMatchObject({
      code: 'unused-file',
      severity: 'warning',
    });
  });

  it('reports escaping and dangling symlinks, special files and level-3 name limits', () => {
    const ps = checkTree(
      [
        {
          rel: 'ui/a.yaml',
          type: 'symlink',
          linkTarget: '/etc/passwd',
          escapes: true,
          targetType: 'file',
          readable: true,
        },
        {
          rel: 'ui/b.yaml',
          type: 'symlink',
          linkTarget: 'gone.yaml',
          escapes: false,
          targetType: 'missing',
          readable: false,
        },
        { rel: 'ui/fifo', type: 'other', readable: false },
        file(`ui/${'x'.repeat(26)}.yaml`),
        dir(`ui/${'d'.repeat(32)}`),
      ],
      [],
    );
    expect(codes(ps)).toEqual([
      'symlink-escape',
      'unreadable-file',
      'unreadable-file',
      'iso-name-too-long',
      'iso-name-too-long',
    ]);
  });
});

describe('operator manifests', () => {
  const good = new Map([
    ['operator/deploy/operator.yaml', 'apiVersion: apps/v1\nkind: Deployment\n'],
    ['operator/deploy/role.yaml', 'apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n'],
    [
      'operator/deploy/role_binding.yaml',
      'apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n',
    ],
    ['operator/deploy/service_account.yaml', 'apiVersion: v1\nkind: ServiceAccount\n'],
    [
      'operator/deploy/crds/a_crd.yaml',
      'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n',
    ],
    [
      'ui/deployment.yaml',
      'apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    metadata:\n      labels: {app: ui}\n',
    ],
    ['ui/service.yaml', 'apiVersion: v1\nkind: Service\nspec:\n  selector: {app: ui}\n'],
  ]);

  it('accepts the expected kinds', () => {
    expect(checkManifests(good)).toEqual([]);
  });

  it('reports invalid YAML, wrong kinds, several CRDs per file and missing files', () => {
    const bad = new Map(good);
    bad.set('operator/deploy/role.yaml', 'kind: [');
    bad.set('operator/deploy/operator.yaml', 'apiVersion: v1\nkind: Service\n');
    bad.set(
      'operator/deploy/crds/a_crd.yaml',
      'apiVersion: x/v1\nkind: CustomResourceDefinition\n---\napiVersion: x/v1\nkind: CustomResourceDefinition\n',
    );
    bad.delete('operator/deploy/service_account.yaml');
    expect(codes(checkManifests(bad)).sort()).toEqual([
      'operator-file-missing',
      'operator-kind',
      'operator-kind',
      'yaml-invalid',
    ]);
  });
});

describe('registry config', () => {
  it('prefixes locations, uses the server root and serves each digest once', () => {
    const hex = 'b'.repeat(64);
    const text = renderRegistryConfig(
      [
        { name: 'app', tag: '2.0', manifestHex: hex },
        { name: 'app', tag: '1.0', manifestHex: hex },
      ],
      { namePrefix: '{{ repository }}', serverRoot: '{{ registry_root }}' },
    );
    expect(text).toContain(
      `location = "/v2/{{ repository }}/app/manifests/1.0" {\n    alias {{ registry_root }}/app/1.0/;`,
    );
    expect(text.match(/manifests\/sha256:/g)).toHaveLength(1);
    expect(text).toContain('# Digest for "app:2.0" already served');
    expect(text).toContain('try_files 1.0/$1 2.0/$1 =404;');
    expect(text).toContain(`'{"name": "app", "tags": ["1.0", "2.0"]}'`);
    expect(text).not.toContain('location = /v2/ {');
  });

  it('writes the blocks byte for byte as static-container-registry.py does (reference form)', () => {
    const hex = 'c'.repeat(64);
    const opts = { namePrefix: '', serverRoot: '/srv' };
    const text = renderRegistryConfig([{ name: 'x', tag: '1', manifestHex: hex }], {
      ...opts,
      reference: true,
    });
    const manifest = (ref: string): string =>
      `\nlocation = "/v2/x/manifests/${ref}" {\n    alias /srv/x/1/;\n    types { } default_type "application/vnd.docker.distribution.manifest.v2+json";\n` +
      `    add_header 'Docker-Content-Digest' 'sha256:${hex}';\n    try_files manifest.json =404;\n    error_page 404 @404_tag;\n}\n`;
    expect(text).toBe(
      `\nlocation = /v2/x/tags/list {\n    types { } default_type "application/json";\n    return 200 '{"name": "x", "tags": ["1"]}';\n}\n` +
        manifest('1') +
        manifest(`sha256:${hex}`) +
        `\nlocation ~ "/v2/x/blobs/sha256:([a-f0-9]{64})" {\n    alias /srv/x/;\n    try_files 1/$1 =404;\n}\n`,
    );
    // By default the blob pattern is anchored, and one more block per image: any other
    // reference answers MANIFEST_UNKNOWN.
    const blobs = '\nlocation ~ "/v2/x/blobs/sha256:([a-f0-9]{64})" {';
    expect(renderRegistryConfig([{ name: 'x', tag: '1', manifestHex: hex }], opts)).toBe(
      text.replace(blobs, '\nlocation ~ "^/v2/x/blobs/sha256:([a-f0-9]{64})$" {') +
        '\nlocation ~ "^/v2/x/manifests/[^/]+$" {\n' +
        '    add_header Docker-Distribution-Api-Version registry/2.0 always;\n' +
        '    types { } default_type "application/json";\n' +
        `    return 404 '{"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown", "detail": {}}]}';\n}\n`,
    );
  });

  it('escapes a literal prefix and a Jinja one (filters) in both regex patterns', () => {
    const hex = 'd'.repeat(64);
    const image = [{ name: 'my.app', tag: '1', manifestHex: hex }];
    const literal = renderRegistryConfig(image, { namePrefix: 'sol-1.0', serverRoot: '/srv' });
    expect(literal).toContain('location ~ "^/v2/sol-1\\.0/my\\.app/manifests/[^/]+$" {');
    expect(literal).toContain(
      'location ~ "^/v2/sol-1\\.0/my\\.app/blobs/sha256:([a-f0-9]{64})$" {',
    );
    const jinja = renderRegistryConfig(image, {
      namePrefix: '{{ repository }}',
      serverRoot: '/srv',
    });
    const escaped =
      "{{ repository | string | replace('\\\\', '\\\\\\\\\\\\\\\\') | replace('\\x22', '\\\\\\x22') | replace('.', '\\\\.')";
    for (const what of ['manifests/[^/]+$', 'blobs/sha256:([a-f0-9]{64})$']) {
      const line = jinja.split('\n').find((l) => l.startsWith('location ~') && l.includes(what));
      expect(line).toMatch(
        /^location ~ "\^\/v2\/\{\{ repository \| string( \| replace\('[^']+', '[^']+'\))+ \}\}\/my\\\.app\//,
      );
      expect(line).toContain(escaped);
    }
    // The exact locations keep the name as it is (no regex there).
    expect(jinja).toContain('location = "/v2/{{ repository }}/my.app/manifests/1" {');
  });
});

describe('isoinfo parsing', () => {
  it('reads the descriptor', () => {
    const d = parseIsoinfoD(
      'Volume id: Example 1.0.0\nLogical block size is: 2048\nVolume size is: 723\nJoliet with UCS level 3 found\nRock Ridge signatures version 1 found\n',
    );
    expect(d).toEqual({
      volumeId: 'Example 1.0.0',
      joliet: true,
      rockRidge: true,
      volumeBytes: 723 * 2048,
    });
  });

  it('lists files with extents, merges multi-extent files and counts hard links once', () => {
    const listing = [
      'Directory listing of /',
      'drwxr-xr-x   1    0    0            2048 Nov 14 2023 [     19 02]  . ',
      'drwxr-xr-x   1    0    0            2048 Nov 14 2023 [     21 02]  images ',
      '-rw-r--r--   2    0    0            1000 Nov 14 2023 [     38 00]  a ',
      '-rw-r--r--   2    0    0            1000 Nov 14 2023 [     38 00]  b c ',
      '-rw-r--r--   1    0    0      4294965248 Nov 25 2026 [     33 FFFF big.bin ',
      '-rw-r--r--   1    0    0      1073743872 Nov 25 2026 [2097184 00]  big.bin ',
      'lrwxrwxrwx   1    0    0               3 Nov 14 2023 [      0 00]  l -> a ',
      '',
      'Directory listing of /images/',
      '-rw-r--r--   1    0    0              33 Nov 14 2023 [    571 00]  version ',
    ].join('\n');
    const entries = parseIsoinfoListing(listing);
    expect(entries.map((e) => e.path)).toEqual([
      'a',
      'b c',
      'big.bin',
      'images',
      'images/version',
      'l',
    ]);
    expect(entries.find((e) => e.path === 'big.bin')).toMatchObject({
      size: 5368709120,
      extents: [{ sector: 33 }, { sector: 2097184 }],
    });
    expect(entries.find((e) => e.path === 'l')).toMatchObject({ type: 'symlink', linkTarget: 'a' });
    expect(isoSizes(entries)).toEqual({
      total: 2000 + 5368709120 + 33,
      deduplicated: 1000 + 5368709120 + 33,
    });
  });
});

describe('command line', () => {
  it('parses each command and its options', () => {
    expect(parseSolutionArgs(['init', 'd', '--name', 'A', '--version=1.0.0'])).toMatchObject({
      command: 'init',
      target: 'd',
      name: 'A',
      version: '1.0.0',
    });
    expect(parseSolutionArgs(['build', 'd', '-o', 'x.iso', '--manifest-yaml'])).toMatchObject({
      command: 'build',
      output: 'x.iso',
      manifestYaml: true,
    });
    expect(parseSolutionArgs(['verify', 'x.iso', '--no-checksum', '--json'])).toMatchObject({
      checksum: false,
      json: true,
    });
    expect(parseSolutionArgs([]).command).toBe('help');
  });

  it('rejects usage mistakes', () => {
    for (const argv of [
      ['frobnicate'],
      ['lint'],
      ['lint', 'a', 'b'],
      ['inspect', 'x.iso', '-o', 'y'],
      ['init', 'd', '--name', 'A'],
      ['build', 'd', '-o'],
    ]) {
      expect(() => parseSolutionArgs(argv), argv.join(' ')).toThrow(SolutionUsageError);
    }
  });
});
