/** Platform selection of an index and the registry include of a manifest list (pure). */
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../buildchain/lib/fs/hash.ts';
import { BlobStore } from '../../buildchain/media/images/blob-store.ts';
import { makeTempDir } from '../helpers/tmp.ts';
import { TaskError } from '../../buildchain/engine/task.ts';
import type { Descriptor } from '../../buildchain/lib/oci/manifest.ts';
import {
  adoptIndexLayout,
  listFor,
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

  it('the served list: the source bytes when nothing changed, else a Docker list of the copies', () => {
    const bytes = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_LIST_V2, manifests: index }),
    );
    const same = index.map((x) => ({ source: x, copied: { ...x, platform: undefined } }));
    expect(listFor(bytes, MANIFEST_LIST_V2, same, index.length)).toBe(bytes);
    // An OCI index is always rewritten as a Docker list (MetalK8s serves v2s2 only).
    const oci = listFor(bytes, 'application/vnd.oci.image.index.v1+json', same, index.length);
    expect(oci).not.toBe(bytes);
    const converted = {
      mediaType: MANIFEST_V2S2,
      digest: `sha256:${'9'.repeat(64)}`,
      size: 42,
    };
    const narrowed = JSON.parse(
      listFor(
        bytes,
        MANIFEST_LIST_V2,
        [{ source: index[1] as Descriptor, copied: converted }],
        4,
      ).toString(),
    ) as unknown;
    expect(narrowed).toEqual({
      schemaVersion: 2,
      mediaType: MANIFEST_LIST_V2,
      manifests: [
        { ...converted, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      ],
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

describe('adoptIndexLayout', () => {
  /** Writes a v2s2 image for `arch` into `dir`, as `skopeo copy --format v2s2 ... dir:` does. */
  async function writeImage(dir: string, arch: string): Promise<Buffer> {
    await mkdir(dir, { recursive: true });
    const blob = async (data: string): Promise<{ digest: string; size: number }> => {
      const hex = sha256Hex(data);
      await writeFile(path.join(dir, hex), data);
      return { digest: `sha256:${hex}`, size: data.length };
    };
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MANIFEST_V2S2,
        config: {
          mediaType: 'application/vnd.docker.container.image.v1+json',
          ...(await blob(JSON.stringify({ os: 'linux', architecture: arch }))),
        },
        layers: [
          {
            mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
            ...(await blob('shared layer')),
          },
        ],
      }),
    );
    await writeFile(path.join(dir, 'manifest.json'), manifest);
    return manifest;
  }

  it('copies only the kept instances, never an attestation, and serves a list of them', async () => {
    const tmp = await makeTempDir('mk8s-adopt-index-');
    try {
      // The "registry": one v2s2 image per platform, by digest.
      const src = new Map<string, string>();
      const entries: Descriptor[] = [];
      for (const arch of ['amd64', 'arm64', 'unknown']) {
        const dir = path.join(tmp.path, 'src', arch);
        const bytes = await writeImage(dir, arch);
        const digest = `sha256:${sha256Hex(bytes)}`;
        src.set(digest, dir);
        entries.push({
          mediaType: MANIFEST_V2S2,
          digest,
          size: bytes.length,
          platform: { os: arch === 'unknown' ? 'unknown' : 'linux', architecture: arch },
        });
      }
      const index = Buffer.from(
        JSON.stringify({ schemaVersion: 2, mediaType: MANIFEST_LIST_V2, manifests: entries }),
      );
      const asked: string[] = [];
      const adopt = async (keep: 'all' | string[], name: string): Promise<string> => {
        const dest = path.join(tmp.path, 'layouts', name);
        await adoptIndexLayout({
          index,
          digest: `sha256:${sha256Hex(index)}`,
          keep,
          copyInstance: async (digest, dir) => {
            asked.push(digest);
            await cp(src.get(digest) ?? '', dir, { recursive: true });
          },
          scratch: path.join(tmp.path, 'scratch', name),
          store: new BlobStore(path.join(tmp.path, 'blobs')),
          dest,
          what: 'image x:1',
        });
        return dest;
      };
      const all = await adopt('all', 'all');
      expect(asked).toEqual([entries[0]?.digest, entries[1]?.digest]);
      const served = JSON.parse(await readFile(path.join(all, 'manifest.json'), 'utf8')) as {
        manifests: Descriptor[];
      };
      expect(served.manifests.map(platformOf)).toEqual(['linux/amd64', 'linux/arm64']);
      asked.length = 0;
      const one = await adopt(['linux/arm64'], 'one');
      expect(asked).toEqual([entries[1]?.digest]);
      expect((await readdir(one)).sort()).toEqual(
        [
          'manifest.json',
          'version',
          `${entries[1]?.digest.slice(7) ?? ''}.manifest.json`,
          sha256Hex('shared layer'),
          sha256Hex(JSON.stringify({ os: 'linux', architecture: 'arm64' })),
        ].sort(),
      );
    } finally {
      await tmp.cleanup();
    }
  });
});
