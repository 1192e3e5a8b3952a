/**
 * Parsers for `isoinfo -d` and `isoinfo -R -l` output (pure). The listing gives each file's
 * extent (2048-byte sector) and size, so files can be read straight from the ISO without
 * mounting or extracting it, and hard-linked files (same extent) are counted once.
 */

/** ISO sector size in bytes. */
export const SECTOR = 2048;

/** What `isoinfo -d` reports. */
export interface IsoDescriptor {
  readonly volumeId: string;
  readonly rockRidge: boolean;
  readonly joliet: boolean;
  /** Bytes (volume size in blocks x block size). */
  readonly volumeBytes: number;
}

export function parseIsoinfoD(text: string): IsoDescriptor {
  const get = (key: string): string | undefined =>
    new RegExp(`^${key}:\\s?(.*)$`, 'm').exec(text)?.[1];
  const blocks = Number(get('Volume size is') ?? 0);
  const blockSize = Number(get('Logical block size is') ?? SECTOR);
  return {
    volumeId: (get('Volume id') ?? '').trim(),
    rockRidge: /Rock Ridge signatures/.test(text),
    joliet: /Joliet with UCS level/.test(text),
    volumeBytes: Number.isFinite(blocks * blockSize) ? blocks * blockSize : 0,
  };
}

/** One section of a file (files over 4 GiB have several, in order). */
export interface IsoExtent {
  /** Sector number. */
  readonly sector: number;
  /** Bytes. */
  readonly size: number;
}

/** One entry of the ISO (Rock Ridge names). */
export interface IsoEntry {
  /** Path without a leading slash, e.g. `images/app/1.0/manifest.json`. */
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink' | 'other';
  /** Total bytes (sum of the extents). */
  readonly size: number;
  readonly extents: readonly IsoExtent[];
  readonly linkTarget?: string;
}

const LINE_RE =
  /^([-dlcbps])[-rwxsStT]{9}\s+\d+\s+\d+\s+\d+\s+(\d+)\s+\w{3}\s+\d+\s+\d{4}\s+\[\s*(\d+)\s+[0-9A-Fa-f]+\]?\s+(.*)$/;

/** Parses `isoinfo -R -l`: files and directories, `.`/`..` excluded, extents merged. */
export function parseIsoinfoListing(text: string): IsoEntry[] {
  const byPath = new Map<
    string,
    { type: IsoEntry['type']; extents: IsoExtent[]; linkTarget?: string }
  >();
  let dir = '';
  for (const line of text.split('\n')) {
    const head = /^Directory listing of \/(.*)$/.exec(line);
    if (head !== null) {
      dir = (head[1] ?? '').replace(/\/$/, '');
      continue;
    }
    const m = LINE_RE.exec(line);
    if (m === null) continue;
    let name = (m[4] ?? '').replace(/ $/, '');
    let linkTarget: string | undefined;
    const t = m[1];
    if (t === 'l') {
      const arrow = name.indexOf(' -> ');
      if (arrow >= 0) {
        linkTarget = name.slice(arrow + 4);
        name = name.slice(0, arrow);
      }
    }
    if (name === '.' || name === '..') continue;
    const p = dir === '' ? name : `${dir}/${name}`;
    const type: IsoEntry['type'] =
      t === '-' ? 'file' : t === 'd' ? 'dir' : t === 'l' ? 'symlink' : 'other';
    const extent = { sector: Number(m[3]), size: Number(m[2]) };
    const prev = byPath.get(p);
    if (prev !== undefined && type === 'file') prev.extents.push(extent);
    else
      byPath.set(p, {
        type,
        extents: type === 'file' ? [extent] : [],
        ...(linkTarget !== undefined ? { linkTarget } : {}),
      });
  }
  return [...byPath]
    .map(([p, e]) => ({
      path: p,
      type: e.type,
      size: e.extents.reduce((n, x) => n + x.size, 0),
      extents: e.extents,
      ...(e.linkTarget !== undefined ? { linkTarget: e.linkTarget } : {}),
    }))
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Key identifying the stored bytes of a file: hard links share it. */
export function contentKey(e: IsoEntry): string {
  return e.extents.map((x) => `${x.sector}:${x.size}`).join(',');
}

/** Sum of file sizes, counting every name, and counting shared contents once. */
export function isoSizes(entries: readonly IsoEntry[]): { total: number; deduplicated: number } {
  let total = 0;
  const seen = new Map<string, number>();
  for (const e of entries) {
    if (e.type !== 'file') continue;
    total += e.size;
    seen.set(contentKey(e), e.size);
  }
  return { total, deduplicated: [...seen.values()].reduce((a, b) => a + b, 0) };
}
