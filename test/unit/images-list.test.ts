import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { isDigest, isRepositoryName, validateImageList } from '../../buildchain/config/images.ts';

const D = `sha256:${'a'.repeat(64)}`;
const remote = {
  name: 'calico-node',
  version: 'v3.8.2',
  source: { registry: 'quay.io', repository: 'calico/node' },
  digest: D,
};

function problems(images: unknown[]): string[] {
  return validateImageList({ images }, 'images/images.yaml').problems;
}

describe('image list validation', () => {
  it('accepts a remote, an archive and a local entry with defaults filled in', () => {
    const { entries, problems: p } = validateImageList(
      {
        images: [
          remote,
          {
            name: 'pause',
            version: 3.1,
            source: { registry: 'k8s.gcr.io', repository: 'pause' },
            digest: D,
            ship: 'archive',
          },
          {
            name: 'salt-master',
            version: '2018.3.4-1',
            build: { context: 'images/salt-master', args: { SALT_VERSION: '2018.3.4' } },
          },
        ],
      },
      'f.yaml',
    );
    expect(p).toEqual([]);
    expect(entries[0]).toMatchObject({ ship: 'dir', platforms: 'linux/amd64', digest: D });
    expect(entries[1]).toMatchObject({
      version: '3.1',
      ship: 'archive',
      archivePath: 'images/pause-3.1.tar',
    });
    expect(entries[2]?.build).toEqual({
      context: 'images/salt-master',
      args: { SALT_VERSION: '2018.3.4' },
    });
  });

  it('names the file, the entry and the fix for each problem', () => {
    const p = problems([
      { ...remote, name: 'Calico_Node' },
      { ...remote, name: 'x', digest: 'sha256:abc' },
      { ...remote, name: 'y', version: '-bad' },
      remote,
      remote,
      { ...remote, name: 'z', source: { registry: 'quay.io', repository: 'Bad//repo' } },
      { name: 'both', version: '1', source: remote.source, build: { context: 'x' } },
      { ...remote, name: 'w', ship: 'archive', platforms: 'all' },
      { ...remote, name: 'v', typo: 1 },
      { name: 'l', version: '1', build: { context: '../outside' }, digest: D },
    ]);
    const text = p.join('\n');
    expect(text).toContain(
      'images/images.yaml: images[0] (Calico_Node): name "Calico_Node" is not a valid image name',
    );
    expect(text).toContain('images[1] (x): digest "sha256:abc" is not sha256:<64 lowercase hex>');
    expect(text).toContain('images[2] (y): version "-bad" is not a valid tag');
    expect(text).toContain('images[4] (calico-node): duplicate of images[3] (calico-node:v3.8.2)');
    expect(text).toContain('source.repository "Bad//repo" is not a valid repository');
    expect(text).toContain(
      'images[6] (both): give exactly one of "source" (remote image) or "build"',
    );
    expect(text).toContain('an archive holds one platform');
    expect(text).toContain('unknown key "typo"');
    expect(text).toContain('a local image has no pinned digest');
    expect(text).toContain(
      'build.context "../outside" must be a directory relative to the repository root',
    );
  });

  it('rejects a document without an images list', () => {
    expect(validateImageList({ image: [] }, 'f').problems).toEqual([
      'f: expected a mapping with an "images:" list',
    ]);
    expect(validateImageList(null, 'f').problems).toHaveLength(1);
  });

  it('grammar helpers', () => {
    expect(isRepositoryName('kubernetes-ingress-controller/nginx-ingress-controller')).toBe(true);
    expect(isRepositoryName('a__b/c.d')).toBe(true);
    expect(isRepositoryName('a/-b')).toBe(false);
    expect(isDigest(D)).toBe(true);
    expect(isDigest(`sha256:${'a'.repeat(63)}`)).toBe(false);
  });

  it('the shipped list is valid: 21 remote (prometheus unpinned), 2 archives, 5 local', () => {
    const file = path.resolve(import.meta.dirname, '../../images/images.yaml');
    const { entries, problems: p } = validateImageList(
      YAML.parse(readFileSync(file, 'utf8')),
      'images/images.yaml',
    );
    expect(p).toEqual([]);
    const remoteEntries = entries.filter((e) => e.source !== undefined);
    expect(remoteEntries).toHaveLength(21);
    expect(remoteEntries.filter((e) => e.digest === undefined).map((e) => e.name)).toEqual([
      'prometheus',
    ]);
    expect(
      entries
        .filter((e) => e.ship === 'archive')
        .map((e) => e.name)
        .sort(),
    ).toEqual(['nginx', 'pause']);
    expect(entries.filter((e) => e.build !== undefined)).toHaveLength(5);
    expect(entries.find((e) => e.name === 'calico-node')?.source).toEqual({
      registry: 'quay.io',
      repository: 'calico/node',
    });
  });
});
