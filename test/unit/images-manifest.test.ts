import { describe, expect, it } from 'vitest';
import {
  MEDIA_DOCKER_LIST,
  MEDIA_DOCKER_MANIFEST,
  MEDIA_OCI_INDEX,
  MEDIA_OCI_MANIFEST,
  parseManifest,
  selectPlatform,
  sha256Digest,
} from '../../buildchain/lib/oci/manifest.ts';
import { parseChallenge } from '../../buildchain/lib/oci/auth-challenge.ts';
import { credentialsFromAuthJson } from '../../buildchain/tasks/images/registry-auth.ts';

const d = (c: string): string => `sha256:${c.repeat(64)}`;
const bytes = (o: unknown): Buffer => Buffer.from(JSON.stringify(o));

describe('manifest parsing', () => {
  it('reads v2s2 and OCI image manifests (config first, then layers)', () => {
    const m = {
      schemaVersion: 2,
      mediaType: MEDIA_DOCKER_MANIFEST,
      config: { digest: d('a'), size: 1 },
      layers: [{ digest: d('b'), size: 2 }],
    };
    const p = parseManifest(bytes(m));
    expect(p.kind).toBe('image');
    expect(p.kind === 'image' ? p.blobs.map((b) => b.digest) : []).toEqual([d('a'), d('b')]);
    // umoci writes OCI manifests without mediaType: content and Content-Type decide.
    const oci = { schemaVersion: 2, config: m.config, layers: m.layers };
    expect(parseManifest(bytes(oci)).mediaType).toBe(MEDIA_OCI_MANIFEST);
    expect(parseManifest(bytes(oci), `${MEDIA_DOCKER_MANIFEST}; charset=utf-8`).mediaType).toBe(
      MEDIA_DOCKER_MANIFEST,
    );
  });

  it('reads lists and indexes and selects linux/amd64', () => {
    const manifests = [
      { digest: d('1'), size: 1, platform: { os: 'linux', architecture: 'arm64' } },
      { digest: d('2'), size: 1, platform: { os: 'linux', architecture: 'amd64' } },
    ];
    const list = parseManifest(
      bytes({ schemaVersion: 2, mediaType: MEDIA_DOCKER_LIST, manifests }),
    );
    expect(list.kind).toBe('list');
    expect(list.kind === 'list' ? selectPlatform(list.manifests)?.digest : '').toBe(d('2'));
    expect(parseManifest(bytes({ schemaVersion: 2, manifests })).mediaType).toBe(MEDIA_OCI_INDEX);
    expect(selectPlatform([])).toBeUndefined();
  });

  it('rejects schema1, bad JSON, bad digests and unknown types', () => {
    expect(() => parseManifest(Buffer.from('{'))).toThrow('not valid JSON');
    expect(() => parseManifest(bytes({ schemaVersion: 1 }))).toThrow('schemaVersion 2');
    expect(() =>
      parseManifest(
        bytes({
          schemaVersion: 2,
          mediaType: MEDIA_OCI_MANIFEST,
          config: { digest: 'md5:x', size: 1 },
          layers: [],
        }),
      ),
    ).toThrow('config');
    expect(() => parseManifest(bytes({ schemaVersion: 2, mediaType: 'application/x' }))).toThrow(
      'unsupported',
    );
  });

  it('digests bytes exactly', () => {
    expect(sha256Digest(Buffer.from(''))).toBe(
      'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
  });
});

describe('registry auth', () => {
  it('parses Bearer challenges with quoted, escaped and bare values', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
      ),
    ).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://auth.docker.io/token',
        service: 'registry.docker.io',
        scope: 'repository:library/nginx:pull',
      },
    });
    expect(parseChallenge('Basic realm=x')?.params.realm).toBe('x');
    expect(parseChallenge('')).toBeUndefined();
    expect(parseChallenge('   ')).toBeUndefined();
    expect(parseChallenge('BASIC Realm="a \\"b\\" c", charset=UTF-8')).toEqual({
      scheme: 'basic',
      params: { realm: 'a "b" c', charset: 'UTF-8' },
    });
  });

  it('finds credentials under the host, URL or Docker Hub keys', () => {
    const auth = (u: string): { auth: string } => ({ auth: Buffer.from(u).toString('base64') });
    const doc = { auths: { 'quay.io': auth('q:1'), 'https://index.docker.io/v1/': auth('d:2') } };
    expect(credentialsFromAuthJson(doc, 'quay.io')).toBe('q:1');
    expect(credentialsFromAuthJson(doc, 'docker.io')).toBe('d:2');
    expect(credentialsFromAuthJson(doc, 'k8s.gcr.io')).toBeUndefined();
    expect(credentialsFromAuthJson({}, 'quay.io')).toBeUndefined();
  });
});
