/** Platform selection of an index and the registry include of a manifest list (pure). */
import { describe, expect, it } from 'vitest';
import { TaskError } from '../../buildchain/engine/task.ts';
import type { Descriptor } from '../../buildchain/lib/oci/manifest.ts';
import {
  narrowList,
  platformOf,
  selectInstances,
} from '../../buildchain/tasks/solution/build/platforms.ts';
import {
  MANIFEST_LIST_V2,
  MANIFEST_V2S2,
  renderRegistryConfig,
} from '../../buildchain/tasks/solution/build/registry-config.ts';

const d = (n: string, architecture: string, variant?: string): Descriptor => ({
  mediaType: MANIFEST_V2S2,
  digest: `sha256:${n.repeat(64)}`,
  size: 100,
  platform: { os: 'linux', architecture, ...(variant !== undefined ? { variant } : {}) },
});
const index = [d('a', 'amd64'), d('b', 'arm64', 'v8'), d('c', 'arm', 'v7'), d('e', 'ppc64le')];

describe('platform selection', () => {
  it('keeps exactly the listed platforms, in the index order; os/arch matches any variant', () => {
    expect(selectInstances(index, ['linux/arm64', 'linux/amd64'], 'x').map(platformOf)).toEqual([
      'linux/amd64',
      'linux/arm64/v8',
    ]);
    expect(selectInstances(index, ['linux/arm/v7'], 'x').map(platformOf)).toEqual(['linux/arm/v7']);
    expect(selectInstances(index, 'all', 'x')).toHaveLength(4);
  });

  it('a platform the index lacks is an invalid-input error naming what it has', () => {
    let err: unknown;
    try {
      selectInstances(index, ['linux/amd64', 'linux/arm/v6'], 'image app:1.0');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TaskError);
    expect((err as TaskError).message).toBe(
      'image app:1.0: platform linux/arm/v6 is not in the source index (it has linux/amd64, linux/arm64/v8, linux/arm/v7, linux/ppc64le)',
    );
  });

  it('narrows the list bytes, and keeps them as they are when nothing is dropped', () => {
    const bytes = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_LIST_V2, manifests: index }),
    );
    expect(narrowList(bytes, index, index.length)).toBe(bytes);
    const narrowed = JSON.parse(narrowList(bytes, [index[1] as Descriptor], 4).toString()) as {
      schemaVersion: number;
      mediaType: string;
      manifests: Descriptor[];
    };
    expect(narrowed).toEqual({
      schemaVersion: 2,
      mediaType: MANIFEST_LIST_V2,
      manifests: [index[1]],
    });
  });
});

describe('registry include of a manifest list', () => {
  const hex = (c: string): string => c.repeat(64);
  const opts = { namePrefix: '{{ repository }}', serverRoot: '{{ registry_root }}' };

  it('serves the list as the tag manifest and each instance by digest from <hex>.manifest.json', () => {
    const text = renderRegistryConfig(
      [
        {
          name: 'app',
          tag: '1.0',
          manifestHex: hex('1'),
          mediaType: MANIFEST_LIST_V2,
          instances: [
            { hex: hex('a'), mediaType: MANIFEST_V2S2 },
            { hex: hex('b'), mediaType: MANIFEST_V2S2 },
          ],
        },
      ],
      opts,
    );
    const block = (ref: string, type: string, h: string, file: string): string =>
      [
        `location = "/v2/{{ repository }}/app/manifests/${ref}" {`,
        '    alias {{ registry_root }}/app/1.0/;',
        `    types { } default_type "${type}";`,
        `    add_header 'Docker-Content-Digest' 'sha256:${h}';`,
        `    try_files ${file} =404;`,
        '    error_page 404 @404_tag;',
        '}',
      ].join('\n');
    expect(text).toContain(block('1.0', MANIFEST_LIST_V2, hex('1'), 'manifest.json'));
    expect(text).toContain(
      block(`sha256:${hex('1')}`, MANIFEST_LIST_V2, hex('1'), 'manifest.json'),
    );
    for (const c of ['a', 'b'])
      expect(text).toContain(
        block(`sha256:${hex(c)}`, MANIFEST_V2S2, hex(c), `${hex(c)}.manifest.json`),
      );
    expect(text.match(/^location = "/gm)).toHaveLength(4);
    expect(text).toContain('try_files 1.0/$1 =404;');
  });

  it('a single image is rendered exactly as without the new fields', () => {
    const plain = renderRegistryConfig([{ name: 'x', tag: '1', manifestHex: hex('2') }], opts);
    expect(
      renderRegistryConfig(
        [{ name: 'x', tag: '1', manifestHex: hex('2'), mediaType: MANIFEST_V2S2, instances: [] }],
        opts,
      ),
    ).toBe(plain);
  });

  it('refuses a media type the MetalK8s registry does not serve (it would be written unquoted)', () => {
    expect(() =>
      renderRegistryConfig(
        [
          {
            name: 'x',
            tag: '1',
            manifestHex: hex('2'),
            mediaType: 'application/vnd.oci.image.index.v1+json',
          },
        ],
        opts,
      ),
    ).toThrow(/media type of x:1.*is not a Docker v2s2 manifest or manifest list/);
  });
});
