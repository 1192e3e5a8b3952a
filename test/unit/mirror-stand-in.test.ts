import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  buildStandInImage,
  gzipStored,
  MEDIA_TYPE_MANIFEST,
  MEDIA_TYPE_MANIFEST_LIST,
  tarOneFile,
  type StandInImageRef,
} from '../../buildchain/sources/embedded/stand-in-image.ts';
import { sha256Digest } from '../../buildchain/lib/fs/hash.ts';
import {
  rpmbuildArgs,
  rpmFileName,
  standInSpec,
} from '../../buildchain/sources/embedded/stand-in-rpm.ts';
import {
  standInFileContent,
  standInFileSha256,
} from '../../buildchain/sources/embedded/web-paths.ts';

const calico: StandInImageRef = {
  registry: 'quay.io',
  repository: 'calico/node',
  tag: 'v3.8.2',
  platforms: 'linux/amd64',
};

describe('stand-in images', () => {
  it('gives the same bytes and digest every time', () => {
    const a = buildStandInImage(calico);
    const b = buildStandInImage({ ...calico });
    expect(a.top.digest).toBe(b.top.digest);
    expect(a.blobs.map((x) => x.data.toString('hex'))).toEqual(
      b.blobs.map((x) => x.data.toString('hex')),
    );
  });

  it('has a digest stable across machines and versions (pinned value)', () => {
    // Any change to the bytes must bump STAND_IN_IMAGE_FORMAT and this value together.
    expect(buildStandInImage(calico).top.digest).toBe(
      'sha256:ca245f64b0d4f615234ce97b2b4e492792aee0bcb8df45362f595202b1b11322',
    );
  });

  it('differs per reference', () => {
    const other = buildStandInImage({ ...calico, tag: 'v3.8.3' });
    expect(other.top.digest).not.toBe(buildStandInImage(calico).top.digest);
  });

  it('writes a v2s2 manifest whose descriptors match the blobs', () => {
    const img = buildStandInImage(calico);
    const manifest = JSON.parse(img.top.data.toString()) as {
      mediaType: string;
      config: { digest: string; size: number };
      layers: { digest: string; size: number }[];
    };
    expect(manifest.mediaType).toBe(MEDIA_TYPE_MANIFEST);
    expect(img.top.digest).toBe(sha256Digest(img.top.data));
    const byDigest = new Map(img.blobs.map((b) => [b.digest, b]));
    for (const d of [manifest.config, ...manifest.layers]) {
      expect(byDigest.get(d.digest)?.data.length).toBe(d.size);
      expect(sha256Digest(byDigest.get(d.digest)?.data ?? '')).toBe(d.digest);
    }
  });

  it('layer is a valid gzip of a ustar archive naming the image, and config diff_id matches', () => {
    const img = buildStandInImage(calico);
    const manifest = JSON.parse(img.top.data.toString()) as {
      config: { digest: string };
      layers: { digest: string }[];
    };
    const layer = img.blobs.find((b) => b.digest === manifest.layers[0]?.digest);
    const tar = gunzipSync(layer?.data ?? Buffer.alloc(0));
    expect(tar.subarray(257, 262).toString()).toBe('ustar');
    expect(tar.toString('latin1')).toContain('stand-in for quay.io/calico/node:v3.8.2');
    const config = JSON.parse(
      img.blobs.find((b) => b.digest === manifest.config.digest)?.data.toString() ?? '{}',
    ) as {
      rootfs: { diff_ids: string[] };
    };
    expect(config.rootfs.diff_ids).toEqual([sha256Digest(tar)]);
  });

  it('makes a manifest list for platforms: all', () => {
    const img = buildStandInImage({ ...calico, platforms: 'all' });
    const list = JSON.parse(img.top.data.toString()) as {
      mediaType: string;
      manifests: { digest: string; platform: { architecture: string } }[];
    };
    expect(list.mediaType).toBe(MEDIA_TYPE_MANIFEST_LIST);
    expect(list.manifests.map((m) => m.platform.architecture)).toEqual(['amd64', 'arm64']);
    expect(list.manifests.map((m) => m.digest)).toEqual(img.childManifests.map((m) => m.digest));
  });
});

describe('deterministic archive helpers', () => {
  it('gzipStored round-trips data larger than one stored block', () => {
    const data = Buffer.alloc(200_000, 7);
    expect(gunzipSync(gzipStored(data)).equals(data)).toBe(true);
    expect(gunzipSync(gzipStored(Buffer.alloc(0))).length).toBe(0);
  });

  it('tarOneFile computes a valid header checksum', () => {
    const tar = tarOneFile('a.txt', Buffer.from('hello'));
    const header = Buffer.from(tar.subarray(0, 512));
    const stored = parseInt(header.subarray(148, 155).toString(), 8);
    header.fill(' ', 148, 156);
    expect(header.reduce((s, b) => s + b, 0)).toBe(stored);
    expect(tar.length % 512).toBe(0);
  });
});

describe('stand-in files and RPM specs', () => {
  it('gives archives for tarball URLs and text otherwise, with stable sha256', () => {
    const tgz = standInFileContent('https://example.com/x/calico-v3.8.2.tar.gz');
    expect(gunzipSync(tgz).toString('latin1')).toContain('calico-v3.8.2/STAND-IN.txt');
    const bin = standInFileContent(
      'https://github.com/projectcalico/cni-plugin/releases/download/v3.8.2/calico-amd64',
    );
    expect(bin.toString()).toContain('stand-in for https://github.com/projectcalico');
    expect(standInFileSha256('https://a/b')).toBe(standInFileSha256('https://a/b'));
    expect(standInFileSha256('https://a/b')).not.toBe(standInFileSha256('https://a/c'));
  });

  it('writes a noarch spec with the listed NVR and reproducibility macros', () => {
    const rpm = { name: 'kubelet', version: '1.15.3', release: '0' };
    const spec = standInSpec(rpm);
    expect(spec).toMatch(/^Name: +kubelet$/m);
    expect(spec).toMatch(/^Version: +1\.15\.3$/m);
    expect(spec).toMatch(/^Release: +0$/m);
    expect(spec).toMatch(/^BuildArch: +noarch$/m);
    expect(rpmFileName(rpm)).toBe('kubelet-1.15.3-0.noarch.rpm');
    const args = rpmbuildArgs('/t', '/t/SPECS/kubelet.spec');
    expect(args).toContain('clamp_mtime_to_source_date_epoch 1');
    expect(args).toContain('use_source_date_epoch_as_buildtime 1');
    expect(args.slice(-2)).toEqual(['-bb', '/t/SPECS/kubelet.spec']);
  });
});
