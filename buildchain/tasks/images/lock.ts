/** `images:lock`: resolves unpinned remote images' tags to manifest digests, written into the list. */
import path from 'node:path';
import YAML, { isMap, isSeq } from 'yaml';
import type { BuildConfig } from '../../config/config.ts';
import type { ImageEntry } from '../../config/content-types.ts';
import { TaskError, type ActionContext } from '../../engine/task.ts';
import { writeFileAtomic } from '../../lib/fs/atomic-write.ts';
import { readRegularText } from '../../lib/fs/read-bounded.ts';
import type { Sources } from '../../sources/sources.ts';
import { sha256Digest } from '../../lib/oci/manifest.ts';
import { RegistryClient } from './registry-client.ts';

/** Options of {@link lockImages}. */
export interface LockImagesOptions {
  readonly config: BuildConfig;
  readonly sources: Sources;
  readonly listFile: string;
  readonly entries: readonly ImageEntry[];
}

/**
 * Sets `digest:` in the YAML text for each `name:version` given (comments and layout kept).
 * Pure; throws when an entry is not found.
 */
export function setDigests(text: string, digests: ReadonlyMap<string, string>): string {
  const doc = YAML.parseDocument(text);
  const images = doc.get('images');
  if (!isSeq(images)) throw new Error('no "images:" list');
  const done = new Set<string>();
  for (const item of images.items) {
    if (!isMap(item)) continue;
    const key = `${String(item.get('name'))}:${String(item.get('version'))}`;
    const digest = digests.get(key);
    if (digest !== undefined) {
      item.set('digest', digest);
      done.add(key);
    }
  }
  const missing = [...digests.keys()].filter((k) => !done.has(k));
  if (missing.length > 0) throw new Error(`entries not found: ${missing.join(', ')}`);
  return doc.toString({ lineWidth: 0 });
}

export async function lockImages(ctx: ActionContext, o: LockImagesOptions): Promise<void> {
  if (o.sources.kind === 'embedded') {
    throw new TaskError('invalid-input', 'images:lock records upstream digests: the embedded mirror only has stand-ins', {
      hint: 'run it with SOURCES=upstream (or site, with REGISTRY_MIRRORS)',
    });
  }
  const digests = new Map<string, string>();
  for (const e of o.entries) {
    if (e.source === undefined || e.digest !== undefined) continue;
    const client = new RegistryClient({ endpoint: await o.sources.registry(e.source.registry), signal: ctx.signal });
    const { bytes } = await client.getManifest(e.source.repository, e.version);
    const digest = sha256Digest(bytes);
    digests.set(`${e.name}:${e.version}`, digest);
    ctx.log(`${e.name}:${e.version} -> ${digest}`);
  }
  if (digests.size === 0) {
    ctx.log('every remote image is pinned');
    return;
  }
  const file = path.join(o.config.root, o.listFile);
  await writeFileAtomic(file, setDigests(readRegularText(file, { what: o.listFile }), digests));
}
