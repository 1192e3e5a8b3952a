/**
 * Where the embedded mirror's nginx serves each upstream URL (pure), and the stand-in bytes of
 * upstream source files.
 */
import { sha256Hex } from '../../lib/fs/hash.ts';
import type { MirrorRepo } from './content.ts';
import { gzipStored, tarOneFile } from './stand-in-image.ts';

/** Web root directory of files that are not under a repo base URL. */
export const FILES_DIR = '_files';

/**
 * Path (relative to the web root, no leading slash) serving `url`: `<repo dir>/<rest>` when
 * the URL is under a repo base URL (longest match), else `_files/<host>/<path>`.
 */
export function webPathOf(url: string, repos: readonly MirrorRepo[]): string {
  let best: { dir: string; base: string } | undefined;
  for (const repo of repos) {
    for (const base of repo.baseUrls) {
      const under = url === base || url.startsWith(`${base}/`);
      if (under && (best === undefined || base.length > best.base.length))
        best = { dir: repo.dir, base };
    }
  }
  if (best !== undefined) {
    const rest = url.slice(best.base.length).replace(/^\/+/, '');
    return rest === '' ? `${best.dir}/` : `${best.dir}/${rest}`;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`not a URL: ${url}`);
  }
  return `${FILES_DIR}/${parsed.host}${parsed.pathname}`.replace(/\/{2,}/g, '/');
}

/**
 * Stand-in content of an upstream file: a small valid archive for `.tar.gz`/`.tgz`/`.tar` (so a
 * spec that unpacks it still builds), else a text naming the URL. Deterministic.
 */
export function standInFileContent(url: string): Buffer {
  const base = url.split('/').pop() ?? 'file';
  const text = Buffer.from(
    `stand-in for ${url}\nBuilt by the metalk8s-buildchain embedded mirror.\n`,
  );
  const stem = base.replace(/\.(tar\.gz|tgz|tar)$/, '');
  if (/\.(tar\.gz|tgz)$/.test(base)) return gzipStored(tarOneFile(`${stem}/STAND-IN.txt`, text));
  if (base.endsWith('.tar')) return tarOneFile(`${stem}/STAND-IN.txt`, text);
  return text;
}

/** sha256 (hex) of {@link standInFileContent}. */
export function standInFileSha256(url: string): string {
  return sha256Hex(standInFileContent(url));
}
