/**
 * STAND_IN_SCALE: the setting, the release-scale table and its plan (pure): RPM counts and sizes
 * per repo, fillers required by listed packages, shared base layers, stand-in specs carrying a
 * payload, seeded bytes.
 */
import { describe, expect, it } from 'vitest';
import type { PackageList } from '../../buildchain/config/content-types.ts';
import { parseSettings } from '../../buildchain/config/settings.ts';
import { RELEASE_SCALE } from '../../buildchain/config/stand-in-scale.ts';
import { UsageError } from '../../buildchain/engine/failures.ts';
import { planHash, planMirror } from '../../buildchain/sources/embedded/content.ts';
import { seededChunks } from '../../buildchain/sources/embedded/scale-content.ts';
import { spreadSizes } from '../../buildchain/sources/embedded/scale-plan.ts';
import { standInSpec } from '../../buildchain/sources/embedded/stand-in-rpm.ts';

const list: PackageList = {
  osFamily: 'redhat-7',
  releasever: '7',
  basearch: 'x86_64',
  repos: [
    { name: 'base', baseUrl: 'http://m/base/', gpgKeys: [], isoName: 'metalk8s-base-el7' },
    { name: 'updates', baseUrl: 'http://m/updates/', gpgKeys: [], isoName: 'x-updates-el7' },
  ],
  packages: [
    { name: 'socat', repo: '', built: false },
    { name: 'sos', repo: '', built: false },
  ],
};
const images = [
  {
    name: 'etcd',
    version: '3.3.10',
    source: { registry: 'k8s.gcr.io', repository: 'etcd' },
    ship: 'dir' as const,
    platforms: 'linux/amd64' as const,
  },
  {
    name: 'pause',
    version: '3.1',
    source: { registry: 'k8s.gcr.io', repository: 'pause' },
    ship: 'dir' as const,
    platforms: 'linux/amd64' as const,
  },
];

describe('STAND_IN_SCALE', () => {
  it('defaults to small, accepts release, refuses anything else naming the setting', () => {
    expect(parseSettings({}).standInScale).toBe('small');
    expect(parseSettings({ STAND_IN_SCALE: 'release' }).standInScale).toBe('release');
    let err: unknown;
    try {
      parseSettings({ STAND_IN_SCALE: 'huge' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe('STAND_IN_SCALE=huge is not small or release');
  });
});

describe('release-scale plan', () => {
  const small = planMirror(images, [list], []);
  const plan = planMirror(images, [list], [], { scale: RELEASE_SCALE });

  it('leaves the small plan as it was (no scale fields)', () => {
    expect(small.scale).toBeUndefined();
    expect(small.images.every((i) => i.layers === undefined)).toBe(true);
    expect(planHash(small, 'f')).not.toBe(planHash(plan, 'f'));
  });

  it('gives each repo its count and total size, fillers included', () => {
    for (const repo of plan.repos) {
      const want = RELEASE_SCALE.repos[repo.dir];
      expect(want, repo.dir).toBeDefined();
      expect(repo.rpms).toHaveLength(want?.count ?? -1);
      const total = repo.rpms.reduce((n, r) => n + (r.payloadBytes ?? 0) + 4096, 0);
      expect(Math.abs(total - (want?.bytes ?? 0))).toBeLessThan(4096 * 2);
    }
  });

  it('makes every filler required by a listed package, so the download fetches it', () => {
    const fillers = plan.repos.flatMap((r) =>
      r.rpms.filter((x) => x.name.startsWith('stand-in-')).map((x) => x.name),
    );
    const required = plan.repos.flatMap((r) => r.rpms.flatMap((x) => x.requires ?? []));
    expect(fillers.length).toBeGreaterThan(400);
    expect(new Set(required)).toEqual(new Set([...fillers, 'python(abi) = 2.7']));
  });

  it('keeps shared base layers shared and gives images their table layers', () => {
    const etcd = plan.images.find((i) => i.repository === 'etcd');
    expect(etcd?.layers).toEqual(RELEASE_SCALE.images.etcd);
    const ids = Object.values(RELEASE_SCALE.images).flatMap((ls) => ls.map((l) => l.id));
    const busybox = ids.filter((id) => id === 'busybox-glibc-1.30').length;
    expect(busybox).toBeGreaterThan(5);
  });

  it('sums to roughly a 2.4 release ISO (1.1 to 1.6 GB of images and RPMs)', () => {
    const layers = new Map<string, number>();
    for (const ls of Object.values(RELEASE_SCALE.images))
      for (const l of ls) layers.set(l.id, l.bytes);
    const rpms = Object.values(RELEASE_SCALE.repos).reduce((n, r) => n + r.bytes, 0);
    const total = [...layers.values()].reduce((a, b) => a + b, 0) + rpms;
    expect(total).toBeGreaterThan(1.1e9);
    expect(total).toBeLessThan(1.6e9);
  });

  it('spreads sizes deterministically, summing to the total', () => {
    const a = spreadSizes('s', 'base', 10, 1_000_000);
    expect(a.reduce((x, y) => x + y, 0)).toBe(1_000_000);
    expect(spreadSizes('s', 'base', 10, 1_000_000)).toEqual(a);
    expect(spreadSizes('t', 'base', 10, 1_000_000)).not.toEqual(a);
    expect(Math.max(...a) / Math.min(...a)).toBeGreaterThan(2);
  });

  it('writes a payload into the stand-in spec only at release scale', () => {
    const spec = standInSpec({ name: 'x', version: '1', release: '1', payloadBytes: 10 });
    expect(spec).toContain('Source0:        payload.bin');
    expect(spec).toContain('/usr/share/metalk8s-stand-in/x.bin');
    expect(standInSpec({ name: 'x', version: '1', release: '1' })).not.toContain('Source0');
  });

  it('generates the same seeded bytes everywhere, different per label', () => {
    const a = Buffer.concat([...seededChunks('seed', 'a', 3 << 20)]);
    expect(a.length).toBe(3 << 20);
    expect(Buffer.concat([...seededChunks('seed', 'a', 3 << 20)]).equals(a)).toBe(true);
    expect(Buffer.concat([...seededChunks('seed', 'b', 1024)]).equals(a.subarray(0, 1024))).toBe(
      false,
    );
  });
});
