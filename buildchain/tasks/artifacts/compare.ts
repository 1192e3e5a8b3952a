/**
 * Size comparison of two build reports: what grew, shrank, appeared or disappeared, biggest
 * change first. Pure.
 */
import type { BuildReport } from './report-types.ts';

/** One compared item. */
export interface SizeChange {
  /** e.g. `iso`, `image calico-node:v3.8.2`, `repo metalk8s-epel-el7`, `rpm socat`. */
  readonly item: string;
  /** Bytes before; undefined when the item is new. */
  readonly before: number | undefined;
  /** Bytes after; undefined when the item is gone. */
  readonly after: number | undefined;
  /** after - before (missing side counts as 0). */
  readonly delta: number;
  /** Extra words, e.g. a version change `1.0-1 -> 1.1-1`. */
  readonly note?: string;
}

const TOTALS = ['iso', 'images (deduplicated)', 'repositories'];

function sizes(report: BuildReport): Map<string, { size: number; note?: string }> {
  const m = new Map<string, { size: number; note?: string }>();
  m.set('iso', { size: report.sizes.iso });
  m.set('images (deduplicated)', { size: report.sizes.images.dedupBytes });
  m.set('repositories', { size: report.sizes.repositories.dedupBytes });
  for (const i of report.images)
    m.set(`image ${i.name}:${i.version}`, { size: i.bytes.dedupBytes });
  for (const r of report.repositories) m.set(`repo ${r.name}`, { size: r.bytes.dedupBytes });
  for (const p of report.rpms) {
    const key = `rpm ${p.repo}/${p.name}.${p.arch}`;
    const version = `${p.epoch === undefined ? '' : `${p.epoch}:`}${p.version}-${p.release}`;
    m.set(key, { size: (m.get(key)?.size ?? 0) + p.size, note: version });
  }
  return m;
}

/** Every item whose size changed (or that appeared/disappeared), biggest |delta| first. */
export function compareReports(before: BuildReport, after: BuildReport): SizeChange[] {
  const a = sizes(before);
  const b = sizes(after);
  const changes: SizeChange[] = [];
  for (const item of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(item);
    const y = b.get(item);
    const delta = (y?.size ?? 0) - (x?.size ?? 0);
    const versionNote =
      x?.note !== undefined && y?.note !== undefined && x.note !== y.note
        ? `${x.note} -> ${y.note}`
        : undefined;
    if (delta === 0 && x !== undefined && y !== undefined && versionNote === undefined) continue;
    changes.push({
      item,
      before: x?.size,
      after: y?.size,
      delta,
      ...(versionNote ? { note: versionNote } : {}),
    });
  }
  // Totals first, in a fixed order; then items by size of the change.
  const rank = (c: SizeChange): number => {
    const i = TOTALS.indexOf(c.item);
    return i < 0 ? TOTALS.length : i;
  };
  return changes.sort(
    (p, q) =>
      rank(p) - rank(q) || Math.abs(q.delta) - Math.abs(p.delta) || p.item.localeCompare(q.item),
  );
}

/** `1.5 MiB`, `-320 B`, with a sign when `signed`. */
export function formatBytes(bytes: number, signed = false): string {
  const sign = bytes < 0 ? '-' : signed ? '+' : '';
  let v = Math.abs(bytes);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${sign}${u === 0 ? String(v) : v.toFixed(1)} ${units[u] ?? 'B'}`;
}

/** Human lines: `+1.2 MiB  image x:1 (3.0 MiB -> 4.2 MiB)`; `new`/`removed` for one-sided items. */
export function formatChanges(changes: readonly SizeChange[]): string[] {
  if (changes.length === 0) return ['no size change'];
  return changes.map((c) => {
    const what =
      c.before === undefined
        ? 'new'
        : c.after === undefined
          ? 'removed'
          : `${formatBytes(c.before)} -> ${formatBytes(c.after)}`;
    const note = c.note === undefined ? '' : `, ${c.note}`;
    return `${formatBytes(c.delta, true).padStart(12)}  ${c.item} (${what}${note})`;
  });
}
