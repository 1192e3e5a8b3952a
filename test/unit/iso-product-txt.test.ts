import { productSourcesToken } from '../../buildchain/tasks/iso-root/tasks.ts';
import { describe, expect, it } from 'vitest';
import {
  formatTimestamp,
  parseProductTxt,
  renderProductTxt,
  shSafe,
} from '../../buildchain/media/product-txt.ts';
import { parseVersion } from '../../buildchain/config/version.ts';

const version = parseVersion(
  'VERSION_MAJOR=2\nVERSION_MINOR=4\nVERSION_PATCH=0\nVERSION_SUFFIX=-beta1\n',
);

describe('product.txt', () => {
  it('renders the 2.4 keys in order, plus SOURCES, newline-terminated', () => {
    const text = renderProductTxt({
      name: 'MetalK8s',
      version,
      git: '2.4.0-beta1-0-g3047565ef',
      epoch: 1700000000,
      buildHost: 'builder',
      sources: productSourcesToken('embedded'),
    });
    expect(text).toBe(
      [
        'NAME=MetalK8s',
        'VERSION=2.4.0-beta1',
        'SHORT_VERSION=2.4',
        'GIT=2.4.0-beta1-0-g3047565ef',
        'DEVELOPMENT_RELEASE=0',
        'BUILD_TIMESTAMP=2023-11-14T22:13:20Z',
        'BUILD_HOST=builder',
        'SOURCES=embedded-stand-in-not-a-release',
        '',
      ].join('\n'),
    );
    expect(parseProductTxt(text).get('SHORT_VERSION')).toBe('2.4');
  });

  it('marks -dev versions as development releases', () => {
    const dev = parseVersion(
      'VERSION_MAJOR=2\nVERSION_MINOR=5\nVERSION_PATCH=0\nVERSION_SUFFIX=-dev\n',
    );
    const text = renderProductTxt({
      name: 'MetalK8s',
      version: dev,
      git: '',
      epoch: 0,
      buildHost: 'h',
      sources: 's',
    });
    expect(text).toContain('DEVELOPMENT_RELEASE=1\n');
    expect(text).toContain('GIT=\n');
  });

  it('keeps values unquoted-safe for sh', () => {
    expect(shSafe('a b;$(rm -rf /)`x`"\'')).toBe('a_b___rm_-rf_/__x___');
    expect(() =>
      renderProductTxt({
        name: 'Metal K8s',
        version,
        git: '',
        epoch: 0,
        buildHost: 'h',
        sources: 's',
      }),
    ).toThrow(/PROJECT_NAME/);
  });

  it('formats the timestamp as %Y-%m-%dT%H:%M:%SZ', () => {
    expect(formatTimestamp(0)).toBe('1970-01-01T00:00:00Z');
  });
});

describe('VERSION', () => {
  it('parses the four keys', () => {
    expect(version.full).toBe('2.4.0-beta1');
    expect(version.short).toBe('2.4');
    expect(version.isDevelopment).toBe(false);
  });

  it('rejects unknown keys, bad numbers and bad suffixes', () => {
    expect(() => parseVersion('VERSION_MAJOR=2\nFOO=1\n')).toThrow(/unexpected/);
    expect(() =>
      parseVersion('VERSION_MAJOR=x\nVERSION_MINOR=4\nVERSION_PATCH=0\nVERSION_SUFFIX=\n'),
    ).toThrow(/VERSION_MAJOR/);
    expect(() =>
      parseVersion('VERSION_MAJOR=2\nVERSION_MINOR=4\nVERSION_PATCH=0\nVERSION_SUFFIX=beta\n'),
    ).toThrow(/VERSION_SUFFIX/);
    expect(() => parseVersion('VERSION_MAJOR=2\nVERSION_MINOR=4\nVERSION_PATCH=0\n')).toThrow(
      /missing/,
    );
  });
});
