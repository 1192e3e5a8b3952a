/**
 * docker-archive tars under the ISO root (e.g. the nginx image loaded by Salt, containerd's
 * pause image): name, tag and config digest read from the tar's own manifest.json.
 */
import path from 'node:path';
import { t as listTar } from 'tar';
import type { ReportImage } from './report-types.ts';
import { sha256File } from '../../lib/fs/hash.ts';
import { countBytes, type TreeFile } from './scan-tree.ts';

interface ArchiveManifestEntry {
  readonly Config?: string;
  readonly RepoTags?: readonly string[];
}

/** Reads `manifest.json` of a tar, or undefined when the tar has none (not a docker-archive). */
async function readArchiveManifest(file: string): Promise<ArchiveManifestEntry[] | undefined> {
  const chunks: Buffer[] = [];
  const state = { found: false };
  await listTar({
    file,
    onReadEntry: (entry) => {
      if (entry.path !== 'manifest.json') {
        entry.resume();
        return;
      }
      state.found = true;
      entry.on('data', (c: Buffer) => chunks.push(c));
    },
  });
  if (!state.found) return undefined;
  const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  return Array.isArray(parsed) ? (parsed as ArchiveManifestEntry[]) : undefined;
}

/** Splits `registry/path/name:tag` into the last path component and the tag. */
export function splitRepoTag(repoTag: string): { name: string; version: string } {
  const colon = repoTag.lastIndexOf(':');
  const hasTag = colon > repoTag.lastIndexOf('/');
  const repo = hasTag ? repoTag.slice(0, colon) : repoTag;
  return {
    name: repo.split('/').pop() ?? repo,
    version: hasTag ? repoTag.slice(colon + 1) : 'latest',
  };
}

/** Every docker-archive `.tar` of the tree, as report images (`ship: archive`). */
export async function scanArchives(
  root: string,
  files: readonly TreeFile[],
): Promise<ReportImage[]> {
  const images: ReportImage[] = [];
  for (const f of files.filter((x) => x.rel.endsWith('.tar'))) {
    const abs = path.join(root, f.rel);
    const manifest = await readArchiveManifest(abs).catch(() => undefined);
    const first = manifest?.[0];
    if (first?.Config === undefined) continue;
    const { name, version } = splitRepoTag(first.RepoTags?.[0] ?? path.basename(f.rel, '.tar'));
    const configHex = path.basename(first.Config).replace(/\.json$/, '');
    images.push({
      name,
      version,
      ship: 'archive',
      path: f.rel,
      digest: `sha256:${configHex}`,
      mediaType: 'docker-archive',
      archiveSha256: await sha256File(abs),
      // Layers of a docker-archive are tar members, not registry blobs: only the config is listed.
      blobs: [{ digest: `sha256:${configHex}`, size: -1 }],
      bytes: countBytes([f]),
    });
  }
  return images;
}
