/**
 * A task's outputs as a cache artifact: one deterministic tar layer (engine/cache/tar.ts) and
 * a JSON config listing every entry with its sha256, size and type. Paths are portable:
 * `B/<path under BUILD_ROOT>` or `R/<path under the repository>`.
 *
 * Restoring never trusts the layer: it is unpacked into a private staging directory under
 * BUILD_ROOT, every entry is checked against the config (same set of paths, types, exec bits,
 * sizes and sha256), and only then are the outputs moved into place (a directory swapped in
 * whole). A mismatch removes the staging directory and throws {@link CorruptEntryError}:
 * nothing of it ever reaches the build.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { lstat, mkdir, readlink, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import * as tar from 'tar';
import { sha256File } from '../../lib/fs/hash.ts';
import { replaceDir } from '../../lib/fs/staging.ts';
import { walkTree } from '../../lib/fs/walk.ts';
import { tarStream, type TarEntry } from './tar.ts';

/** One entry recorded in the artifact config. */
export interface ArtifactEntry {
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink';
  readonly exec?: boolean;
  readonly size?: number;
  /** Hex sha256 (files). */
  readonly sha256?: string;
  readonly target?: string;
}

/** The artifact config (its blob is the manifest's config). */
export interface ArtifactConfig {
  readonly format: number;
  readonly task: string;
  readonly key: string;
  /** Portable output paths, in the task's order. */
  readonly outputs: readonly string[];
  readonly entries: readonly ArtifactEntry[];
}

/** The cache entry's content does not match what it records (or what was asked). */
export class CorruptEntryError extends Error {
  /** The blob that failed its digest check, when that is the problem. */
  readonly blob: string | undefined;
  constructor(message: string, blob?: string) {
    super(message);
    this.name = 'CorruptEntryError';
    this.blob = blob;
  }
}

/** An output the cache cannot carry (outside the repository and BUILD_ROOT, a socket, ...). */
export class NotCacheableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotCacheableError';
  }
}

function inside(dir: string, p: string): string | undefined {
  const r = path.relative(dir, p);
  return r === '' || r.startsWith('..') || path.isAbsolute(r)
    ? undefined
    : r.split(path.sep).join('/');
}

/** `B/...` or `R/...` for an absolute output path; throws NotCacheableError elsewhere. Pure. */
export function portablePath(p: string, root: string, buildRoot: string): string {
  const b = inside(buildRoot, p);
  if (b !== undefined) return `B/${b}`;
  const r = inside(root, p);
  if (r !== undefined) return `R/${r}`;
  throw new NotCacheableError(`${p} is outside the repository and BUILD_ROOT`);
}

/** The absolute path of a portable one; undefined for anything malformed. Pure. */
export function localPath(portable: string, root: string, buildRoot: string): string | undefined {
  const m = /^([BR])\/(.+)$/.exec(portable);
  if (m?.[2] === undefined || m[2].split('/').some((s) => s === '' || s === '.' || s === '..'))
    return undefined;
  return path.join(m[1] === 'B' ? buildRoot : root, ...m[2].split('/'));
}

/** The entries of the outputs (walked, sorted), with content hashes. */
async function collect(
  outputs: readonly string[],
  root: string,
  buildRoot: string,
): Promise<{ entries: ArtifactEntry[]; tarEntries: TarEntry[]; portable: string[] }> {
  const entries: ArtifactEntry[] = [];
  const tarEntries: TarEntry[] = [];
  const portable: string[] = [];
  const add = async (abs: string, p: string): Promise<void> => {
    const st = await lstat(abs);
    if (st.isSymbolicLink()) {
      const target = await readlink(abs);
      entries.push({ path: p, type: 'symlink', target });
      tarEntries.push({ path: p, type: 'symlink', target });
    } else if (st.isDirectory()) {
      entries.push({ path: p, type: 'dir' });
      tarEntries.push({ path: p, type: 'dir' });
    } else if (st.isFile()) {
      const exec = (st.mode & 0o100) !== 0;
      entries.push({ path: p, type: 'file', exec, size: st.size, sha256: await sha256File(abs) });
      tarEntries.push({ path: p, type: 'file', exec, size: st.size, source: abs });
    } else throw new NotCacheableError(`${abs} is not a file, directory or symlink`);
  };
  const sorted = outputs.map((o) => ({ abs: o, p: portablePath(o, root, buildRoot) }));
  for (const o of sorted) portable.push(o.p);
  sorted.sort((a, b) => (a.p < b.p ? -1 : a.p > b.p ? 1 : 0));
  for (const o of sorted) {
    await add(o.abs, o.p);
    if ((await lstat(o.abs)).isDirectory())
      for (const e of await walkTree(o.abs)) await add(e.path, `${o.p}/${e.rel}`);
  }
  return { entries, tarEntries, portable };
}

/** A packed artifact: the layer file (to upload, then remove) and the config. */
export interface PackedArtifact {
  readonly layerFile: string;
  readonly layerDigest: string;
  readonly layerSize: number;
  readonly config: ArtifactConfig;
}

/** Packs the outputs of a task into `<workDir>/<random>.tar`. */
export async function packArtifact(o: {
  task: string;
  key: string;
  format: number;
  outputs: readonly string[];
  root: string;
  buildRoot: string;
  workDir: string;
}): Promise<PackedArtifact> {
  const { entries, tarEntries, portable } = await collect(o.outputs, o.root, o.buildRoot);
  await mkdir(o.workDir, { recursive: true });
  const layerFile = path.join(
    o.workDir,
    `pack-${process.pid}-${randomBytes(6).toString('hex')}.tar`,
  );
  const hash = createHash('sha256');
  let size = 0;
  try {
    await pipeline(
      Readable.from(tarStream(tarEntries)),
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const c of chunks) {
          hash.update(c);
          size += c.length;
          yield c;
        }
      },
      createWriteStream(layerFile),
    );
  } catch (err) {
    await rm(layerFile, { force: true });
    throw err;
  }
  return {
    layerFile,
    layerDigest: `sha256:${hash.digest('hex')}`,
    layerSize: size,
    config: { format: o.format, task: o.task, key: o.key, outputs: portable, entries },
  };
}

/** Checks a parsed config against what the task expects (pure); throws CorruptEntryError. */
export function checkConfig(
  doc: unknown,
  expect: { task: string; key: string; format: number; outputs: readonly string[] },
): ArtifactConfig {
  const c = doc as Partial<ArtifactConfig> | null;
  if (c === null || typeof c !== 'object' || !Array.isArray(c.entries) || !Array.isArray(c.outputs))
    throw new CorruptEntryError('the entry config is not an artifact config');
  if (c.format !== expect.format || c.task !== expect.task || c.key !== expect.key)
    throw new CorruptEntryError(
      `the entry is for ${String(c.task)} (key ${String(c.key).slice(0, 12)}, format ${String(c.format)}), not this task`,
    );
  if (JSON.stringify(c.outputs) !== JSON.stringify(expect.outputs))
    throw new CorruptEntryError(
      `the entry holds ${c.outputs.join(', ')}, not ${expect.outputs.join(', ')}`,
    );
  return c as ArtifactConfig;
}

/** Verifies the unpacked staging tree against the config; throws CorruptEntryError. */
async function verifyStaging(staging: string, config: ArtifactConfig): Promise<void> {
  const want = new Map(config.entries.map((e) => [e.path, e]));
  // The directories leading to the outputs (`B`, `B/rpm`, ...) are not entries.
  const ancestors = new Set<string>();
  for (const o of config.outputs) {
    const parts = o.split('/');
    for (let i = 1; i < parts.length; i++) ancestors.add(parts.slice(0, i).join('/'));
  }
  const seen = new Set<string>();
  for (const e of await walkTree(staging)) {
    const rec = want.get(e.rel);
    if (rec === undefined && e.kind === 'dir' && ancestors.has(e.rel)) continue;
    if (rec === undefined) throw new CorruptEntryError(`unexpected ${e.rel} in the entry`);
    seen.add(e.rel);
    if (e.kind !== rec.type)
      throw new CorruptEntryError(`${e.rel} is a ${e.kind}, recorded as a ${rec.type}`);
    if (rec.type === 'symlink') {
      if ((await readlink(e.path)) !== rec.target)
        throw new CorruptEntryError(`${e.rel} points elsewhere than recorded`);
    } else if (rec.type === 'file') {
      const st = await lstat(e.path);
      if (st.size !== rec.size || (await sha256File(e.path)) !== rec.sha256)
        throw new CorruptEntryError(`${e.rel} does not match its recorded sha256`);
      if (((st.mode & 0o100) !== 0) !== (rec.exec === true))
        throw new CorruptEntryError(`${e.rel} has another mode than recorded`);
    }
  }
  for (const p of want.keys())
    if (!seen.has(p)) throw new CorruptEntryError(`${p} is missing from the entry`);
}

/**
 * Unpacks a layer file (its digest already checked) into a staging directory in `workDir`,
 * verifies it, then moves each output into place. Throws CorruptEntryError (nothing moved).
 */
export async function unpackArtifact(o: {
  layerFile: string;
  config: ArtifactConfig;
  root: string;
  buildRoot: string;
  workDir: string;
}): Promise<void> {
  const staging = path.join(o.workDir, `restore-${process.pid}-${randomBytes(6).toString('hex')}`);
  await mkdir(staging, { recursive: true });
  try {
    let bad: string | undefined;
    await tar
      .x({
        file: o.layerFile,
        cwd: staging,
        strict: true,
        noMtime: true,
        preserveOwner: false,
        filter: (p, entry) => {
          const type = (entry as { type?: string }).type;
          if (
            type !== undefined &&
            !['File', 'OldFile', 'Directory', 'SymbolicLink'].includes(type)
          )
            bad ??= `${p}: ${type} entries are not allowed`;
          return bad === undefined;
        },
      })
      .catch((err: unknown) => {
        throw new CorruptEntryError(
          `the layer is not a valid tar: ${err instanceof Error ? err.message : String(err)}`,
        );
      });
    if (bad !== undefined) throw new CorruptEntryError(bad);
    await verifyStaging(staging, o.config);
    for (const p of o.config.outputs) {
      const dest = localPath(p, o.root, o.buildRoot);
      if (dest === undefined) throw new CorruptEntryError(`malformed output path ${p}`);
      const src = path.join(staging, ...p.split('/'));
      await mkdir(path.dirname(dest), { recursive: true });
      if ((await lstat(src)).isDirectory()) await replaceDir(src, dest);
      else {
        await rm(dest, { recursive: true, force: true });
        await rename(src, dest);
      }
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
