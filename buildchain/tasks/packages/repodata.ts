/**
 * Reading yum repodata: `repodata/repomd.xml` → the primary metadata → one entry per RPM with
 * its NEVRA, checksum, size and location. Enough XML for createrepo output; pure functions
 * plus {@link readPrimary}, which fetches.
 */
import { gunzipSync } from 'node:zlib';
import { TaskError } from '../../engine/task.ts';
import { digestOf, readUrl } from './fetch.ts';

/** One package of a repo's primary metadata. */
export interface PrimaryEntry {
  readonly name: string;
  readonly epoch: string;
  readonly version: string;
  readonly release: string;
  readonly arch: string;
  /** Checksum type (`sha256`, `sha`, ...) and hex value of the RPM file. */
  readonly checksumType: string;
  readonly checksum: string;
  /** RPM file size in bytes. */
  readonly size: number;
  /** Location relative to the repo base URL, e.g. `Packages/x-1.0-1.noarch.rpm`. */
  readonly href: string;
}

function unescapeXml(s: string): string {
  return s
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&apos;', "'")
    .replaceAll('&amp;', '&');
}

function attr(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return m?.[1] === undefined ? undefined : unescapeXml(m[1]);
}

/** Data file of repomd.xml (`primary`, `filelists`, ...). */
export interface RepomdData {
  readonly type: string;
  readonly href: string;
  readonly checksumType: string;
  readonly checksum: string;
}

/** Parses repomd.xml: its `<data type=...>` entries. */
export function parseRepomd(xml: string): RepomdData[] {
  const out: RepomdData[] = [];
  for (const m of xml.matchAll(/<data\s[^>]*type="([^"]+)"[^>]*>([\s\S]*?)<\/data>/g)) {
    const body = m[2] ?? '';
    const loc = /<location\s[^>]*\/?>/.exec(body)?.[0] ?? '';
    const sum = /<checksum\s([^>]*)>([^<]*)<\/checksum>/.exec(body);
    const href = attr(loc, 'href');
    if (m[1] === undefined || href === undefined || sum === null) continue;
    out.push({
      type: m[1],
      href,
      checksumType: attr(`<x ${sum[1] ?? ''}>`, 'type') ?? 'sha256',
      checksum: (sum[2] ?? '').trim(),
    });
  }
  return out;
}

/** Parses primary.xml (uncompressed). */
export function parsePrimary(xml: string): PrimaryEntry[] {
  const out: PrimaryEntry[] = [];
  for (const m of xml.matchAll(/<package\s+type="rpm"\s*>([\s\S]*?)<\/package>/g)) {
    const body = m[1] ?? '';
    const text = (tag: string) =>
      unescapeXml(new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(body)?.[1] ?? '');
    const ver = /<version\s[^>]*\/>/.exec(body)?.[0] ?? '';
    const sum = /<checksum\s([^>]*)>([^<]*)<\/checksum>/.exec(body);
    const size = /<size\s[^>]*\/>/.exec(body)?.[0] ?? '';
    const loc = /<location\s[^>]*\/>/.exec(body)?.[0] ?? '';
    const href = attr(loc, 'href');
    if (sum === null || href === undefined) continue;
    out.push({
      name: text('name'),
      arch: text('arch'),
      epoch: attr(ver, 'epoch') ?? '0',
      version: attr(ver, 'ver') ?? '',
      release: attr(ver, 'rel') ?? '',
      checksumType: attr(`<x ${sum[1] ?? ''}>`, 'type') ?? 'sha256',
      checksum: (sum[2] ?? '').trim().toLowerCase(),
      size: Number(attr(size, 'package') ?? '0'),
      href,
    });
  }
  return out;
}

/** Joins a repo base URL and a relative location. */
export function joinUrl(base: string, rel: string): string {
  return `${base.replace(/\/+$/, '')}/${rel.replace(/^\/+/, '')}`;
}

function decompress(data: Buffer, href: string, what: string): string {
  if (href.endsWith('.gz')) return gunzipSync(data).toString('utf8');
  if (href.endsWith('.xml')) return data.toString('utf8');
  throw new TaskError('invalid-input', `${what}: unsupported repodata compression of ${href}`, {
    hint: 'Only gzip (.xml.gz) or plain primary metadata is read; point PACKAGE_MIRRORS at a mirror with createrepo defaults.',
  });
}

/** Fetches and parses a repo's primary metadata (checked against repomd.xml's checksum). */
export async function readPrimary(baseUrl: string, what: string): Promise<PrimaryEntry[]> {
  const repomd = (await readUrl(joinUrl(baseUrl, 'repodata/repomd.xml'), what)).toString('utf8');
  const primary = parseRepomd(repomd).find((d) => d.type === 'primary');
  if (primary === undefined) {
    throw new TaskError('invalid-input', `${what}: repomd.xml at ${baseUrl} has no primary data`, {
      hint: 'Is the base URL the directory holding repodata/?',
    });
  }
  const data = await readUrl(joinUrl(baseUrl, primary.href), what);
  if (digestOf(data, primary.checksumType) !== primary.checksum.toLowerCase()) {
    throw new TaskError(
      'digest-mismatch',
      `${what}: ${primary.href} does not match repomd.xml's checksum`,
      {
        hint: 'The mirror serves inconsistent repodata (a sync in progress?); retry or check the mirror.',
      },
    );
  }
  return parsePrimary(decompress(data, primary.href, what));
}
