/** The images of an opened Solution ISO: manifests and their blobs, checked or summarised. */
import { MANIFEST_LIST_V2, MANIFEST_V2S2, type RegistryInstance } from './registry-config.ts';
import { digestHex, parseManifest, type ParsedManifest } from '../../../lib/oci/manifest.ts';
import { platformOf } from './platforms.ts';
import { sha256Hex } from '../../../lib/fs/hash.ts';
import type { IsoReader } from '../../../media/iso/isoinfo-reader.ts';
import { error, warning, type Problem } from '../lint/problems.ts';

/** One blob referenced by a manifest. */
export interface BlobRef {
  readonly digest: string;
  /** Bytes, as the manifest says. */
  readonly size: number;
}

/** One image tag of the ISO. */
export interface IsoImage {
  readonly name: string;
  readonly tag: string;
  /** Hex sha256 of `manifest.json` (the digest registries serve). */
  readonly manifestHex: string;
  readonly mediaType: string;
  /** Config first, then layers (of every instance of a list, each blob once). */
  readonly blobs: readonly BlobRef[];
  /** `os/arch[/variant]` of each instance of a manifest list (empty for a single image). */
  readonly platforms: readonly string[];
  /** The instances of a manifest list, served by digest (empty for a single image). */
  readonly instances: readonly RegistryInstance[];
}

/** `<name>/<tag>` directories found under `images/`. */
export function imageDirs(iso: IsoReader): { name: string; tag: string }[] {
  const out: { name: string; tag: string }[] = [];
  for (const e of iso.entries.values()) {
    const m = /^images\/([^/]+)\/([^/]+)$/.exec(e.path);
    if (m?.[1] !== undefined && m[2] !== undefined && e.type === 'dir')
      out.push({ name: m[1], tag: m[2] });
  }
  return out;
}

function parseBlobs(json: unknown): { mediaType: string; blobs: BlobRef[] } | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const j = json as {
    mediaType?: unknown;
    schemaVersion?: unknown;
    config?: unknown;
    layers?: unknown;
  };
  const desc = (d: unknown): BlobRef | undefined => {
    const x = d as { digest?: unknown; size?: unknown } | null;
    return typeof x?.digest === 'string' &&
      /^sha256:[a-f0-9]{64}$/.test(x.digest) &&
      typeof x.size === 'number'
      ? { digest: x.digest, size: x.size }
      : undefined;
  };
  if (j.schemaVersion !== 2 || !Array.isArray(j.layers)) return undefined;
  const blobs = [j.config, ...(j.layers as unknown[])].map(desc);
  if (blobs.some((b) => b === undefined)) return undefined;
  return {
    mediaType: typeof j.mediaType === 'string' ? j.mediaType : '',
    blobs: blobs as BlobRef[],
  };
}

/** Reads every image's manifest; reports missing or invalid manifests. */
export async function readIsoImages(iso: IsoReader, problems: Problem[]): Promise<IsoImage[]> {
  const out: IsoImage[] = [];
  for (const { name, tag } of imageDirs(iso)) {
    const dir = `images/${name}/${tag}`;
    const m = iso.entries.get(`${dir}/manifest.json`);
    if (m === undefined) {
      problems.push(
        error(
          'manifest-missing',
          `${dir}/manifest.json`,
          `image ${name}:${tag} has no manifest.json`,
          'rebuild the ISO (`metalk8s-solution build`)',
        ),
      );
      continue;
    }
    const bytes = await iso.read(m);
    let parsed: ReturnType<typeof parseBlobs>;
    try {
      parsed = parseBlobs(JSON.parse(bytes.toString('utf8')));
    } catch {
      parsed = undefined;
    }
    const list = parsed === undefined ? await readIsoList(iso, dir, bytes, problems) : undefined;
    if (list !== undefined) {
      out.push({ name, tag, manifestHex: sha256Hex(bytes), ...list });
      continue;
    }
    if (parsed === undefined) {
      if (isList(bytes)) continue; // reported by readIsoList
      problems.push(
        error(
          'manifest-invalid',
          m.path,
          `image ${name}:${tag}: manifest.json is not a schema 2 image manifest`,
          'rebuild the ISO',
        ),
      );
      continue;
    }
    if (parsed.mediaType !== MANIFEST_V2S2) {
      problems.push(
        error(
          'manifest-invalid',
          m.path,
          `image ${name}:${tag}: media type ${parsed.mediaType || '(none)'} is not served by the MetalK8s registry`,
          'copy the image with `skopeo copy --format v2s2`',
        ),
      );
    }
    if (!iso.entries.has(`${dir}/version`)) {
      problems.push(
        warning(
          'layout-unexpected',
          `${dir}/version`,
          'missing skopeo dir: version file',
          'rebuild the ISO',
        ),
      );
    }
    out.push({
      name,
      tag,
      manifestHex: sha256Hex(bytes),
      mediaType: parsed.mediaType,
      blobs: parsed.blobs,
      platforms: [],
      instances: [],
    });
  }
  return out;
}

function jsonOf(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** True when the bytes are a manifest list / index (they have a `manifests` array). */
function isList(bytes: Buffer): boolean {
  const j = jsonOf(bytes) as { manifests?: unknown } | undefined;
  return Array.isArray(j?.manifests);
}

/**
 * A manifest list (a multi-arch image): every instance it names must be on the ISO beside it
 * as `<hex>.manifest.json`, with that digest, as a v2s2 image manifest. Undefined (problems
 * pushed, or not a list at all) when it cannot be served.
 */
async function readIsoList(
  iso: IsoReader,
  dir: string,
  bytes: Buffer,
  problems: Problem[],
): Promise<Omit<IsoImage, 'name' | 'tag' | 'manifestHex'> | undefined> {
  if (!isList(bytes)) return undefined;
  const at = `${dir}/manifest.json`;
  const what = `image ${dir.slice('images/'.length).replace('/', ':')}`;
  let parsed: ParsedManifest;
  try {
    parsed = parseManifest(bytes);
  } catch (err) {
    problems.push(
      error('manifest-invalid', at, `${what}: ${(err as Error).message}`, 'rebuild the ISO'),
    );
    return undefined;
  }
  if (
    parsed.kind !== 'list' ||
    parsed.mediaType !== MANIFEST_LIST_V2 ||
    parsed.manifests.length === 0
  ) {
    problems.push(
      error(
        'manifest-invalid',
        at,
        `${what}: ${parsed.mediaType} ${parsed.kind === 'list' && parsed.manifests.length === 0 ? 'lists no image' : 'is not served by the MetalK8s registry'}`,
        'copy the image with `skopeo copy --all --format v2s2` (metalk8s-solution build does)',
      ),
    );
    return undefined;
  }
  const blobs = new Map<string, BlobRef>();
  const platforms: string[] = [];
  const instances: RegistryInstance[] = [];
  let ok = true;
  for (const d of parsed.manifests) {
    const hex = digestHex(d.digest);
    const platform = platformOf(d);
    const e = iso.entries.get(`${dir}/${hex}.manifest.json`);
    if (e === undefined) {
      problems.push(
        error(
          'platform-missing',
          `${dir}/${hex}.manifest.json`,
          `${what}: the index lists ${platform} (${d.digest}) but its manifest is not on the ISO`,
          'rebuild the ISO: every platform an index names must be shipped',
        ),
      );
      ok = false;
      continue;
    }
    const child = await iso.read(e);
    const blobsOf = parseBlobs(jsonOf(child));
    if (sha256Hex(child) !== hex || blobsOf?.mediaType !== MANIFEST_V2S2) {
      problems.push(
        error(
          'manifest-invalid',
          e.path,
          `${what}: the ${platform} manifest ${sha256Hex(child) !== hex ? 'does not match its digest' : 'is not a v2s2 image manifest'}`,
          'the ISO is corrupted or tampered with: rebuild it or download it again',
        ),
      );
      ok = false;
      continue;
    }
    for (const b of blobsOf.blobs) blobs.set(b.digest, b);
    platforms.push(platform);
    instances.push({ hex, mediaType: d.mediaType });
  }
  return ok
    ? { mediaType: parsed.mediaType, blobs: [...blobs.values()], platforms, instances }
    : undefined;
}

/** Checks that every blob is present with the right size and sha256 (shared contents hashed once). */
export async function checkIsoBlobs(
  iso: IsoReader,
  images: readonly IsoImage[],
  problems: Problem[],
): Promise<void> {
  const hashed = new Map<string, string>();
  for (const img of images) {
    const dir = `images/${img.name}/${img.tag}`;
    const known = new Set(['manifest.json', 'version']);
    for (const b of img.blobs) {
      const hex = b.digest.slice('sha256:'.length);
      known.add(hex);
      const e = iso.entries.get(`${dir}/${hex}`);
      if (e === undefined) {
        problems.push(
          error(
            'blob-missing',
            `${dir}/${hex}`,
            `image ${img.name}:${img.tag}: blob ${b.digest} is missing`,
            'rebuild the ISO',
          ),
        );
        continue;
      }
      if (e.size !== b.size) {
        problems.push(
          error(
            'blob-size-mismatch',
            e.path,
            `image ${img.name}:${img.tag}: blob is ${e.size} bytes, the manifest says ${b.size}`,
            'rebuild the ISO; the file was truncated or replaced',
          ),
        );
        continue;
      }
      const key = e.extents.map((x) => `${x.sector}:${x.size}`).join(',');
      const actual = hashed.get(key) ?? (await iso.sha256(e));
      hashed.set(key, actual);
      if (actual !== hex) {
        problems.push(
          error(
            'blob-digest-mismatch',
            e.path,
            `image ${img.name}:${img.tag}: blob content has sha256 ${actual}`,
            'the ISO is corrupted or tampered with: rebuild it or download it again',
          ),
        );
      }
    }
    for (const e of iso.entries.values()) {
      const rest = e.path.startsWith(`${dir}/`) ? e.path.slice(dir.length + 1) : undefined;
      if (rest !== undefined && !known.has(rest) && !rest.endsWith('.manifest.json')) {
        problems.push(
          warning(
            'layout-unexpected',
            e.path,
            'file not referenced by the image manifest',
            'remove it from the image directory',
          ),
        );
      }
    }
  }
}
