import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import {
  archiveId,
  isoFileName,
  isValidProductName,
  isValidSemver,
  isValidSemverRange,
  parseProductTxt,
  renderManifestYaml,
  renderProductTxt,
  volumeId,
  type ProductInfo,
} from '../../buildchain/tasks/solution/build/product.ts';

const product: ProductInfo = {
  name: 'Example',
  version: '1.0.0-dev',
  requireMetalK8s: '>=2.4.0',
  archiveLayoutVersion: 1,
  git: 'v1-0-gabc-dirty',
  buildTimestamp: '2023-11-14T22:13:20Z',
};

describe('product fields', () => {
  it('accepts display names as 2.4 does (single spaces included), rejects the others', () => {
    expect(isValidProductName('Example-Solution')).toBe(true);
    expect(isValidProductName('Zenko2')).toBe(true);
    expect(isValidProductName('Example Solution')).toBe(true);
    expect(isValidProductName('My Big-Solution 2')).toBe(true);
    for (const bad of [
      '',
      '1abc',
      'a--b',
      'a-',
      'naïve',
      'a;b',
      'a  b',
      'a ',
      ' a',
      'a\tb',
      'a -b',
    ])
      expect(isValidProductName(bad)).toBe(false);
  });

  it('derives the env name as 2.4 does: lowercase, spaces to dashes, then the version', () => {
    expect(archiveId('Example Solution', '1.0.0-dev')).toBe('example-solution-1.0.0-dev');
    expect(archiveId('My Big-Solution 2', '0.1.0')).toBe('my-big-solution-2-0.1.0');
    expect(isoFileName('Example Solution', '1.0.0')).toBe('example-solution-1.0.0.iso');
  });

  it('accepts semantic versions without build metadata', () => {
    for (const good of ['1.0.0', '0.1.0-dev', '2.4.0-beta.1', '10.20.30-rc1'])
      expect(isValidSemver(good)).toBe(true);
    for (const bad of ['1.0', 'v1.0.0', '01.0.0', '1.0.0+build', '1.0.0-', ''])
      expect(isValidSemver(bad)).toBe(false);
  });

  it('accepts semver ranges and rejects garbage', () => {
    for (const good of [
      '>=2.0',
      '>=2.4.0 <2.5.0',
      '^2.4.0',
      '~2.4',
      '2.4.x',
      '>=2.4.0 || >=3.0.0-beta',
      '2.4.0 - 2.5.0',
      '>= 2.4.0',
    ])
      expect(isValidSemverRange(good), good).toBe(true);
    for (const bad of ['', 'latest', '>>2', '2.4.0 <', '>=2.4.0 ||', 'two'])
      expect(isValidSemverRange(bad), bad).toBe(false);
  });

  it('builds the volume id as "<NAME> <VERSION>"', () => {
    expect(volumeId('Example', '1.0.0')).toBe('Example 1.0.0');
  });
});

describe('product.txt', () => {
  it('renders the layout-1 fields in order and parses back', () => {
    const text = renderProductTxt(product);
    expect(text.split('\n').slice(0, 4)).toEqual([
      'NAME=Example',
      'VERSION=1.0.0-dev',
      'REQUIRE_METALK8S=">=2.4.0"',
      'ARCHIVE_LAYOUT_VERSION=1',
    ]);
    expect(text.endsWith('\n')).toBe(true);
    expect(parseProductTxt(text)).toEqual({
      NAME: 'Example',
      VERSION: '1.0.0-dev',
      REQUIRE_METALK8S: '>=2.4.0',
      ARCHIVE_LAYOUT_VERSION: '1',
      GIT: 'v1-0-gabc-dirty',
      BUILD_TIMESTAMP: '2023-11-14T22:13:20Z',
    });
  });

  it('writes a display name with spaces as 2.4 reads it (^NAME=(.+)$, no quotes)', () => {
    const text = renderProductTxt({ ...product, name: 'Example Solution' });
    expect(text).toContain('\nVERSION=1.0.0-dev\n');
    expect(/^NAME=(.+)$/m.exec(text)?.[1]).toBe('Example Solution');
  });

  it('keeps GIT sh-safe', () => {
    expect(renderProductTxt({ ...product, git: 'a b;c' })).toContain('GIT=a_b_c\n');
  });
});

describe('manifest.yaml', () => {
  it('writes a Solution object with the images and annotations', () => {
    const doc = YAML.parse(
      renderManifestYaml({
        product,
        images: [{ name: 'app', version: '1.0.0' }],
        uiImage: 'example-ui:1.0.0',
      }),
    ) as Record<string, unknown>;
    expect(doc.apiVersion).toBe('solutions.metalk8s.scality.com/v1alpha1');
    expect(doc.kind).toBe('Solution');
    expect(doc.metadata).toMatchObject({
      name: 'example',
      annotations: { 'solutions.metalk8s.scality.com/display-name': 'Example' },
    });
    expect(doc.spec).toEqual({
      version: '1.0.0-dev',
      ui: { image: { name: 'example-ui', tag: '1.0.0' } },
      images: ['app:1.0.0'],
    });
  });

  it('names the object after the env name form of a display name with spaces', () => {
    const doc = YAML.parse(
      renderManifestYaml({ product: { ...product, name: 'Example Solution' }, images: [] }),
    ) as { metadata: { name: string } };
    expect(doc.metadata.name).toBe('example-solution');
  });
});
