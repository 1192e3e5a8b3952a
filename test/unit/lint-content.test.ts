import { describe, expect, it } from 'vitest';
import { checkImageList } from '../../buildchain/tasks/lint/image-checks.ts';
import {
  checkSpecReferences,
  compareFileList,
} from '../../buildchain/tasks/lint/package-checks.ts';

const D1 = `sha256:${'a'.repeat(64)}`;

const LIST = `images:
  - name: calico-node
    version: v3.8.2
    source: { registry: quay.io, repository: calico/node }
    digest: ${D1}
  - name: unpinned
    version: "1.0"
    source: { registry: docker.io, repository: library/unpinned }
  - name: local-ok
    version: "1.0"
    build: { context: images/local-ok }
  - name: local-nofile
    version: "1.0"
    build: { context: images/local-nofile }
  - name: local-nodir
    version: "1.0"
    build: { context: images/gone }
`;

const present = new Set([
  'images/local-ok',
  'images/local-ok/Containerfile',
  'images/local-nofile',
]);
const exists = (p: string): boolean => present.has(p);

describe('image list checks', () => {
  it('flags unpinned remote images, missing contexts and missing build files at their line', () => {
    const findings = checkImageList(LIST, {
      file: 'images/images.yaml',
      allowUnpinned: false,
      exists,
    });
    expect(findings.map((f) => [f.line, f.severity, f.rule])).toEqual([
      [6, 'error', 'image-unpinned'],
      [12, 'error', 'image-build'],
      [15, 'error', 'image-build'],
    ]);
    expect(findings[1]?.message).toContain('Containerfile or Dockerfile');
    expect(findings[2]?.message).toContain('does not exist');
  });

  it('turns unpinned images into visible warnings when allowed', () => {
    const findings = checkImageList(LIST, { file: 'i.yaml', allowUnpinned: true, exists });
    const unpinned = findings.find((f) => f.rule === 'image-unpinned');
    expect(unpinned?.severity).toBe('warning');
    expect(unpinned?.message).toContain('ALLOW_UNPINNED_IMAGES');
  });

  it('accepts an unpinned image explicitly allowed by an "Unpinned:" comment, as a warning with the reason', () => {
    const text = LIST.replace(
      '  - name: unpinned',
      '  # Unpinned: upstream digest unknown,\n  # record it with images:lock.\n  - name: unpinned',
    );
    const findings = checkImageList(text, { file: 'i.yaml', allowUnpinned: false, exists });
    const unpinned = findings.filter((f) => f.rule === 'image-unpinned');
    expect(unpinned).toEqual([
      {
        file: 'i.yaml',
        line: 8,
        severity: 'warning',
        rule: 'image-unpinned',
        message:
          'unpinned:1.0 (docker.io/library/unpinned) is not pinned by digest (explicitly allowed: upstream digest unknown, record it with images:lock.)',
      },
    ]);
  });

  it('reports invalid names, bad digests and duplicates from the loader with their line', () => {
    const text = `images:
  - name: Bad_Name
    version: v1
    source: { registry: quay.io, repository: a/b }
    digest: ${D1}
  - name: ok
    version: v1
    source: { registry: quay.io, repository: a/b }
    digest: sha256:1234
  - name: ok
    version: v1
    source: { registry: quay.io, repository: a/b }
    digest: ${D1}
`;
    const findings = checkImageList(text, { file: 'i.yaml', allowUnpinned: false, exists });
    const byLine = findings.map((f) => `${String(f.line)} ${f.message}`);
    expect(byLine.some((l) => l.startsWith('2 ') && l.includes('Bad_Name'))).toBe(true);
    expect(byLine.some((l) => l.startsWith('6 ') && l.includes('sha256:1234'))).toBe(true);
    expect(byLine.some((l) => l.startsWith('10 ') && l.includes('duplicate'))).toBe(true);
  });

  it('reports YAML syntax errors with a line', () => {
    const [f] = checkImageList('images:\n  - name: [x\n', {
      file: 'i.yaml',
      allowUnpinned: false,
      exists,
    });
    expect(f?.rule).toBe('yaml-syntax');
    expect(f?.line).toBeGreaterThan(0);
  });

  it('passes a clean list', () => {
    const clean = LIST.split('  - name: unpinned')[0] ?? '';
    expect(checkImageList(clean, { file: 'i.yaml', allowUnpinned: false, exists })).toEqual([]);
  });
});

describe('spec references', () => {
  it('flags unreferenced specs and built packages without spec', () => {
    const findings = checkSpecReferences(
      [
        { name: 'a', path: 'packages-specs/a/a.spec' },
        { name: 'orphan', path: 'packages-specs/orphan/orphan.spec' },
      ],
      [
        { name: 'a', repo: 'scality', built: true },
        { name: 'b', repo: 'scality', built: true },
        { name: 'c', repo: 'base', built: false },
      ],
      'packages-specs/redhat-7.yaml',
    );
    expect(findings.map((f) => [f.file, f.rule])).toEqual([
      ['packages-specs/orphan/orphan.spec', 'spec-unreferenced'],
      ['packages-specs/redhat-7.yaml', 'spec-missing'],
    ]);
    expect(findings[1]?.message).toContain('"b"');
  });
});

describe('Salt file list', () => {
  it('flags present-but-unshipped and listed-but-missing files, honouring exemptions', () => {
    const findings = compareFileList({
      listFile: 'salt/files.txt',
      listed: ['salt/a.sls', 'salt/gone.sls'],
      present: ['salt/a.sls', 'salt/new.sls', 'salt/top.sls.in'],
      exempt: (f) => (f.endsWith('.in') ? 'rendered template' : undefined),
    });
    expect(findings.map((f) => [f.file, f.rule])).toEqual([
      ['salt/new.sls', 'salt-unshipped'],
      ['salt/files.txt', 'salt-missing'],
    ]);
  });
});
