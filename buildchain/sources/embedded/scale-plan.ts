/**
 * Release-scale stand-ins, planned (pure): each repo of the scale table gets its RPM count and
 * total size (sizes spread deterministically from the table's seed; filler packages
 * `stand-in-<repo>-<n>` make up the count, each required by a listed package so the download
 * fetches it as a real closure would), and each image its layer list.
 */
import { createHash } from 'node:crypto';
import type { ScaleTable } from '../../config/stand-in-scale.ts';
import type { StandInRpm } from './stand-in-types.ts';

/** Bytes of an RPM that are not its payload (header, signature, file list), roughly. */
export const RPM_OVERHEAD_BYTES = 4096;

/** A deterministic number in [0, 1) from the seed and a label. */
export function unitFraction(seed: string, label: string): number {
  const h = createHash('sha256').update(`${seed}\0${label}`).digest();
  return h.readUInt32BE(0) / 2 ** 32;
}

/** `count` sizes summing to `total`, spread between 0.2× and 3× the mean (seeded). */
export function spreadSizes(seed: string, label: string, count: number, total: number): number[] {
  if (count <= 0) return [];
  const weights = Array.from(
    { length: count },
    (_, i) => 0.2 + 2.8 * unitFraction(seed, `${label}/${String(i)}`) ** 2,
  );
  const sum = weights.reduce((a, b) => a + b, 0);
  const sizes = weights.map((w) => Math.max(1, Math.floor((w / sum) * total)));
  const rest = total - sizes.reduce((a, b) => a + b, 0);
  sizes[0] = (sizes[0] ?? 0) + rest;
  return sizes;
}

/** One repo of the plan while it is built: directory, upstream repo name, RPMs by name. */
export interface RepoDraft {
  readonly name: string;
  readonly rpms: Map<string, StandInRpm>;
}

/**
 * Scales `repos` in place to the table: payload sizes for every RPM, fillers up to the count,
 * each filler required by one of `requirers` (listed packages, round robin over all repos).
 */
export function scaleRepos(
  repos: readonly RepoDraft[],
  table: ScaleTable,
  requirers: readonly string[],
): void {
  const fillers: string[] = [];
  for (const repo of repos) {
    const want = table.repos[repo.name];
    if (want === undefined) continue;
    for (let i = repo.rpms.size; i < want.count; i++) {
      const name = `stand-in-${repo.name}-${String(i).padStart(4, '0')}`;
      repo.rpms.set(name, { name, version: '1.0', release: '1.el7' });
      fillers.push(name);
    }
    const names = [...repo.rpms.keys()].sort();
    const sizes = spreadSizes(table.seed, repo.name, names.length, want.bytes);
    names.forEach((n, i) => {
      const rpm = repo.rpms.get(n);
      const payloadBytes = Math.max(0, (sizes[i] ?? 0) - RPM_OVERHEAD_BYTES);
      if (rpm !== undefined) repo.rpms.set(n, { ...rpm, payloadBytes });
    });
  }
  if (requirers.length === 0) return;
  const extra = new Map<string, string[]>();
  fillers.sort().forEach((f, i) => {
    const by = requirers[i % requirers.length] ?? '';
    extra.set(by, [...(extra.get(by) ?? []), f]);
  });
  for (const repo of repos) {
    for (const [name, rpm] of repo.rpms) {
      const more = extra.get(name);
      if (more === undefined) continue;
      repo.rpms.set(name, { ...rpm, requires: [...(rpm.requires ?? []), ...more] });
      extra.delete(name);
    }
  }
}
