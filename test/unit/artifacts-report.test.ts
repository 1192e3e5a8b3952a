import { describe, expect, it } from 'vitest';
import { expectedSha256 } from '../../buildchain/tasks/artifacts/build-report.ts';
import {
  compareReports,
  formatBytes,
  formatChanges,
} from '../../buildchain/tasks/artifacts/compare.ts';
import { isCurrentLog, summarizeEventLog } from '../../buildchain/tasks/artifacts/event-log.ts';
import type { TaskCachedEvent } from '../../buildchain/engine/events.ts';
import type { BuildReport } from '../../buildchain/tasks/artifacts/report-types.ts';
import { formatNevra } from '../../buildchain/tasks/artifacts/rpm-header.ts';
import { splitRepoTag } from '../../buildchain/tasks/artifacts/scan-archives.ts';
import {
  buildSbom,
  imagePurl,
  rpmPurl,
  serialFromSha256,
} from '../../buildchain/tasks/artifacts/sbom.ts';

const bytes = (n: number): { logicalBytes: number; dedupBytes: number; files: number } => ({
  logicalBytes: n,
  dedupBytes: n,
  files: 1,
});
const SHA = 'ab'.repeat(32);

function report(overrides: Partial<BuildReport> = {}): BuildReport {
  return {
    schema: 'metalk8s-buildchain/build-report@1',
    project: 'MetalK8s',
    version: '2.4.0-beta1',
    gitRef: 'g1',
    sources: 'embedded',
    product: {},
    iso: { file: 'metalk8s.iso', size: 1000, sha256: SHA, signed: false },
    sizes: { iso: 1000, tree: bytes(900), images: bytes(500), repositories: bytes(300) },
    images: [
      {
        name: 'pause',
        version: '3.1',
        ship: 'dir',
        path: 'images/pause/3.1',
        digest: `sha256:${SHA}`,
        mediaType: 'x',
        blobs: [],
        bytes: bytes(500),
      },
    ],
    repositories: [
      {
        name: 'metalk8s-base-el7',
        path: 'packages/redhat/metalk8s-base-el7',
        rpms: 1,
        bytes: bytes(300),
      },
    ],
    rpms: [
      {
        name: 'socat',
        version: '1.7',
        release: '1',
        arch: 'x86_64',
        nevra: 'socat-1.7-1.x86_64',
        sha256: SHA,
        size: 250,
        path: 'p/socat.rpm',
        repo: 'metalk8s-base-el7',
      },
    ],
    build: undefined,
    ...overrides,
  };
}

describe('event log', () => {
  const log =
    [
      { event: 'build-start', command: 'run', tasks: 9, workers: 2, dryRun: false },
      { event: 'start', task: 'old', title: 'old', reasons: [] },
      { event: 'build-start', command: 'run', tasks: 3, workers: 2, dryRun: false },
      { event: 'skip', task: 'images', reason: 'up-to-date', reasons: [] },
      { event: 'start', task: 'iso', title: 'iso', reasons: ['x'] },
      {
        event: 'cached',
        task: 'packaging:rpm:calico',
        key: 'ab'.repeat(32),
        bytes: 5000,
        durationMs: 300,
      } satisfies TaskCachedEvent,
      { event: 'done', task: 'iso', durationMs: 1200 },
      { event: 'start', task: 'ci_artifacts', title: 'a', reasons: [] },
    ]
      .map((e) => JSON.stringify(e))
      .join('\n') + '\n{"event":"cut';

  it('keeps the last build only, with durations, up-to-date tasks and tasks restored from the build cache, ignoring a cut line', () => {
    expect(summarizeEventLog(log)).toEqual({
      tasks: [
        { task: 'images', status: 'up-to-date', durationMs: 0 },
        { task: 'iso', status: 'done', durationMs: 1200 },
        { task: 'packaging:rpm:calico', status: 'restored', durationMs: 300, cacheBytes: 5000 },
        { task: 'ci_artifacts', status: 'running', durationMs: 0 },
      ],
      ran: 1,
      upToDate: 1,
      restored: 1,
      failed: 0,
      totalMs: 1500,
    });
  });
  it('recognises the log of the running build only', () => {
    expect(isCurrentLog(log, 'ci_artifacts')).toBe(true);
    expect(isCurrentLog(log, 'old')).toBe(false);
  });
});

describe('SHA256SUM lines', () => {
  it('finds the line of the ISO in text or binary mode', () => {
    expect(expectedSha256(`${SHA}  metalk8s.iso\n`, 'metalk8s.iso')).toBe(SHA);
    expect(expectedSha256(`${SHA} *metalk8s.iso\n`, 'metalk8s.iso')).toBe(SHA);
    expect(expectedSha256(`${SHA}  other.iso\n`, 'metalk8s.iso')).toBeUndefined();
  });
});

describe('names', () => {
  it('formats NEVRA with the epoch only when present', () => {
    expect(
      formatNevra({ name: 'a', epoch: undefined, version: '1', release: '2', arch: 'noarch' }),
    ).toBe('a-1-2.noarch');
    expect(formatNevra({ name: 'a', epoch: 3, version: '1', release: '2', arch: 'x86_64' })).toBe(
      'a-3:1-2.x86_64',
    );
  });
  it('splits docker-archive repo tags', () => {
    expect(splitRepoTag('docker.io/library/nginx:1.15.8')).toEqual({
      name: 'nginx',
      version: '1.15.8',
    });
    expect(splitRepoTag('127.0.0.1:5000/pause')).toEqual({ name: 'pause', version: 'latest' });
  });
});

describe('SBOM', () => {
  it('writes CycloneDX 1.5 with container and rpm purls and hashes', () => {
    const sbom = buildSbom(report(), '2019-09-19T00:00:00Z');
    expect(sbom.bomFormat).toBe('CycloneDX');
    expect(sbom.specVersion).toBe('1.5');
    expect(sbom.serialNumber).toMatch(
      /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(sbom.components).toHaveLength(2);
    expect(sbom.components[0]).toMatchObject({
      type: 'container',
      purl: `pkg:oci/pause@sha256%3A${SHA}?tag=3.1`,
      hashes: [{ alg: 'SHA-256', content: SHA }],
    });
    expect(sbom.components[1]).toMatchObject({
      type: 'library',
      purl: 'pkg:rpm/centos/socat@1.7-1?arch=x86_64',
      version: '1.7-1',
    });
  });
  it('encodes epochs and is deterministic', () => {
    expect(
      rpmPurl(
        {
          name: 'a+b',
          epoch: 1,
          version: '1',
          release: '2',
          arch: 'noarch',
          nevra: '',
          sha256: '',
          size: 0,
          path: '',
          repo: '',
        },
        'centos',
      ),
    ).toBe('pkg:rpm/centos/a%2Bb@1-2?arch=noarch&epoch=1');
    for (const image of report().images) expect(imagePurl(image)).toContain('pkg:oci/pause@');
    expect(serialFromSha256(SHA)).toBe(serialFromSha256(SHA));
  });
});

describe('report comparison', () => {
  it('lists growth, new and removed items, totals first, biggest change first', () => {
    const after = report({
      sizes: { iso: 3000, tree: bytes(2900), images: bytes(2500), repositories: bytes(300) },
      images: [
        {
          name: 'pause',
          version: '3.1',
          ship: 'dir',
          path: 'x',
          digest: 'd',
          mediaType: 'x',
          blobs: [],
          bytes: bytes(600),
        },
        {
          name: 'big',
          version: '1',
          ship: 'dir',
          path: 'y',
          digest: 'd',
          mediaType: 'x',
          blobs: [],
          bytes: bytes(1900),
        },
      ],
      rpms: [],
    });
    const changes = compareReports(report(), after);
    expect(changes.map((c) => [c.item, c.delta])).toEqual([
      ['iso', 2000],
      ['images (deduplicated)', 2000],
      ['image big:1', 1900],
      ['rpm metalk8s-base-el7/socat.x86_64', -250],
      ['image pause:3.1', 100],
    ]);
    const lines = formatChanges(changes);
    expect(lines[2]).toBe('    +1.9 KiB  image big:1 (new)');
    expect(lines[3]).toBe('      -250 B  rpm metalk8s-base-el7/socat.x86_64 (removed)');
  });
  it('says so when nothing changed, and reports version changes of the same size', () => {
    expect(formatChanges(compareReports(report(), report()))).toEqual(['no size change']);
    const rpms = [{ ...report().rpms[0], release: '2' } as BuildReport['rpms'][number]];
    expect(formatChanges(compareReports(report(), report({ rpms }))).join('\n')).toContain(
      '1.7-1 -> 1.7-2',
    );
  });
  it('formats bytes', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1536, true)).toBe('+1.5 KiB');
    expect(formatBytes(-3 * 1024 ** 3)).toBe('-3.0 GiB');
  });
});
