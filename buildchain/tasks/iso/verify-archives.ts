/**
 * Checks of the docker-archive tars of an extracted ISO tree (`ship: archive` images, e.g. the
 * pause image containerd loads and the nginx image of the repositories pod): every member the
 * tar's `manifest.json` names is present, and a member named by its sha256 (skopeo writes the
 * config as `<hex>.json` and each layer, uncompressed, as `<hex>.tar`) has that sha256.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { t as listTar } from 'tar';
import { walkTree } from '../../lib/fs/walk.ts';
import { addProblem, type CheckReport } from './verify-tree.ts';

interface ArchiveEntry {
  readonly Config?: string;
  readonly Layers?: readonly string[];
}

/** Members of a tar: name -> sha256 hex, and the parsed `manifest.json` (undefined: none). */
async function readMembers(
  file: string,
): Promise<{ digests: Map<string, string>; manifest?: unknown }> {
  const digests = new Map<string, string>();
  const chunks: Buffer[] = [];
  // An object: a flag set in a callback is invisible to the narrowing of a local boolean.
  const state = { hasManifest: false };
  await listTar({
    file,
    onReadEntry: (entry) => {
      const hash = createHash('sha256');
      const isManifest = entry.path === 'manifest.json';
      state.hasManifest ||= isManifest;
      entry.on('data', (c: Buffer) => {
        hash.update(c);
        if (isManifest) chunks.push(c);
      });
      entry.on('end', () => digests.set(entry.path, hash.digest('hex')));
    },
  });
  if (!state.hasManifest) return { digests };
  return { digests, manifest: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown };
}

/** Checks one docker-archive; false when the tar is not one (no manifest.json). */
async function checkArchive(file: string, label: string, report: CheckReport): Promise<boolean> {
  let members: Awaited<ReturnType<typeof readMembers>>;
  try {
    members = await readMembers(file);
  } catch (err) {
    addProblem(
      report,
      'archive-invalid',
      `archive ${label}`,
      `unreadable: ${err instanceof Error ? err.message : String(err)}`,
    );
    return true;
  }
  if (members.manifest === undefined) return false;
  const entries = Array.isArray(members.manifest) ? (members.manifest as ArchiveEntry[]) : [];
  if (entries.length === 0)
    addProblem(report, 'archive-invalid', `archive ${label}`, 'manifest.json lists no image');
  for (const e of entries) {
    for (const name of [e.Config, ...(e.Layers ?? [])]) {
      if (name === undefined) continue;
      const actual = members.digests.get(name);
      const hex = /^([a-f0-9]{64})\.(?:json|tar)$/.exec(path.basename(name))?.[1];
      if (actual === undefined)
        addProblem(report, 'blob-missing', `archive ${label}`, `${name} is missing`);
      else if (hex !== undefined && actual !== hex)
        addProblem(report, 'digest-mismatch', `archive ${label}`, `${name} has sha256 ${actual}`);
    }
  }
  return true;
}

/** Every docker-archive `.tar` of the tree (outside `packages/`); returns their paths. */
export async function checkArchives(tree: string, report: CheckReport): Promise<string[]> {
  const found: string[] = [];
  const tars = (await walkTree(tree)).filter(
    (e) => e.kind === 'file' && e.rel.endsWith('.tar') && !e.rel.startsWith('packages/'),
  );
  for (const t of tars) {
    if (await checkArchive(t.path, t.rel, report)) found.push(t.rel);
  }
  report.checked.push(`image archives: ${found.length} docker-archive tars (members and digests)`);
  return found;
}
