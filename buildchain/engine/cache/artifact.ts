/**
 * A task's outputs as a cache artifact: one deterministic tar layer (engine/cache/tar.ts) and
 * a JSON config listing every entry with its sha256, size and type. Paths are portable:
 * `B/<path under BUILD_ROOT>` or `R/<path under the repository>`.
 *
 * Files that are hard links of a dependency's outputs (`cacheable.linkFrom`: a repo's RPMs,
 * links of the download's) are recorded as links, not stored: a restore links them back from
 * there once they match (size, exec bit, sha256), else throws {@link EntryNotUsableError}.
 *
 * Restoring never trusts the layer: it streams into a private staging directory under
 * BUILD_ROOT, every entry checked against the config as it comes (recorded paths and types
 * only, never through a symlink, each file hashed as written), the layer's digest computed on
 * the way; only then are the outputs moved into place (a directory swapped in whole). A
 * mismatch removes the staging directory and throws {@link CorruptEntryError}: nothing of it
 * ever reaches the build.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  createWriteStream,
  fchmodSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  open as openCallback,
  symlinkSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { chmod, lstat, mkdir, open, readlink, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { sha256File } from '../../lib/fs/hash.ts';
import { linkOrCopy, replaceDir } from '../../lib/fs/staging.ts';
import { walkTree } from '../../lib/fs/walk.ts';
import { RACY_MS } from '../fingerprint.ts';
import { readTar, tarStream, TarFormatError, type TarEntry } from './tar.ts';

/** One entry recorded in the artifact config. */
export interface ArtifactEntry {
  readonly path: string;
  readonly type: 'file' | 'dir' | 'symlink';
  readonly exec?: boolean;
  readonly size?: number;
  /** Hex sha256 (files). */
  readonly sha256?: string;
  readonly target?: string;
  /**
   * Files only: not in the layer, a hard link of this portable path (a dependency's output
   * under the task's `cacheable.linkFrom`), linked back on restore once it matches `sha256`.
   */
  readonly link?: string;
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

/**
 * The entry is sound but cannot be used here: a file it links to (a dependency's output) is
 * missing or differs from what the entry recorded. Nothing was moved; the task runs.
 */
export class EntryNotUsableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EntryNotUsableError';
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

/**
 * sha256 of files this process hashed or checked (packing, restoring), by inode, valid while
 * the stat matches: a restore that links a dependency's output restored a moment before does
 * not read it again. `trusted`: whether that stat was past the racy margin (fingerprint.ts) at a
 * clock read before it, so that no change since can have kept it (a file this process wrote
 * itself never is).
 */
const knownHashes = new Map<string, { stat: string; sha256: string; trusted: boolean }>();

function statKey(st: Stats): [string, string] {
  return [`${st.dev}:${st.ino}`, `${st.size}:${st.mtimeMs}:${st.ctimeMs}`];
}

/** Remembers a file's sha256 for its current stat. */
function remember(st: Stats, sha256: string, trusted: boolean): void {
  const [id, stat] = statKey(st);
  knownHashes.set(id, { stat, sha256, trusted });
}

/** The racy rule (fingerprint.ts): `st` is past the margin at `clock`, read before it. */
function pastMargin(st: { mtimeMs: number; ctimeMs: number }, clock: number): boolean {
  return Math.max(st.mtimeMs, st.ctimeMs) < clock - RACY_MS;
}

/**
 * Whether the build's file hasher holds a trusted record of `file` at exactly the stat `st`
 * whose hash is that of `sha256Hex` (the hasher's rule, fingerprint.ts: not racy).
 */
export type TrustedHash = (file: string, st: Stats, sha256Hex: string) => boolean;

/**
 * The file's sha256: from {@link knownHashes} when its stat is unchanged, or when only the
 * stat changed (a hard link made since changes the ctime) and the hasher vouches that the
 * content is still the one hashed; else read. `trusted`: whether the hash may be recorded as
 * not racy for `st` (a read: `st` past the margin at `clock`, a clock read before `st` was
 * taken; none given: never).
 */
async function sha256Of(
  abs: string,
  st: Stats,
  vouch?: TrustedHash,
  clock?: number,
): Promise<{ sha256: string; trusted: boolean }> {
  const [id, stat] = statKey(st);
  const known = knownHashes.get(id);
  if (known?.stat === stat) return known;
  if (known !== undefined && vouch?.(abs, st, known.sha256) === true) {
    remember(st, known.sha256, true);
    return { sha256: known.sha256, trusted: true };
  }
  const sha256 = await sha256File(abs);
  const trusted = clock !== undefined && pastMargin(st, clock);
  remember(st, sha256, trusted);
  return { sha256, trusted };
}

/** `dev:ino` → path of every file under `dirs` outside `outputs` (sources of link entries). */
async function linkableFiles(
  dirs: readonly string[],
  outputs: readonly string[],
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const isOutput = (p: string) => outputs.some((o) => p === o || p.startsWith(o + path.sep));
  for (const dir of dirs) {
    if (isOutput(dir)) continue;
    for (const e of await walkTree(dir, { missingOk: true })) {
      if (e.kind !== 'file' || isOutput(e.path)) continue;
      const st = await lstat(e.path);
      out.set(`${st.dev}:${st.ino}`, e.path);
    }
  }
  return out;
}

/**
 * The entries of the outputs (walked, sorted), with content hashes, except those of files in
 * the layer: `stats` holds their stat, and their sha256 is taken as they are archived.
 */
async function collect(
  outputs: readonly string[],
  root: string,
  buildRoot: string,
  linkFrom: readonly string[],
  trusted: TrustedHash | undefined,
  /** A clock read before any stat of the walk (each hash's racy rule). */
  clock: number,
): Promise<{
  entries: ArtifactEntry[];
  tarEntries: TarEntry[];
  portable: string[];
  stats: Map<string, Stats>;
}> {
  const entries: ArtifactEntry[] = [];
  const tarEntries: TarEntry[] = [];
  const portable: string[] = [];
  const stats = new Map<string, Stats>();
  const linkable = await linkableFiles(linkFrom, outputs);
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
      const source = linkable.get(`${st.dev}:${st.ino}`);
      if (source !== undefined) {
        const link = portablePath(source, root, buildRoot);
        const { sha256 } = await sha256Of(abs, st, trusted, clock);
        entries.push({ path: p, type: 'file', exec, size: st.size, sha256, link });
        return;
      }
      entries.push({ path: p, type: 'file', exec, size: st.size });
      tarEntries.push({ path: p, type: 'file', exec, size: st.size, source: abs });
      stats.set(p, st);
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
  return { entries, tarEntries, portable, stats };
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
  /** Directories whose files are recorded as links (`cacheable.linkFrom`). */
  linkFrom?: readonly string[];
  /** The build's hasher, to reuse a sha256 known from before a link changed the ctime. */
  trustedHash?: TrustedHash;
  root: string;
  buildRoot: string;
  workDir: string;
}): Promise<PackedArtifact> {
  // Before every stat of the outputs: the racy rule of each hash taken (see knownHashes).
  const clock = Date.now();
  const { entries, tarEntries, portable, stats } = await collect(
    o.outputs,
    o.root,
    o.buildRoot,
    o.linkFrom ?? [],
    o.trustedHash,
    clock,
  );
  await mkdir(o.workDir, { recursive: true });
  const layerFile = path.join(
    o.workDir,
    `pack-${process.pid}-${randomBytes(6).toString('hex')}.tar`,
  );
  const hash = createHash('sha256');
  const sums = new Map<string, string>();
  let withSums: ArtifactEntry[] = [];
  let size = 0;
  try {
    await pipeline(
      Readable.from(
        tarStream(tarEntries, async (e, sha256) => {
          // Hashed as archived (one read): valid for the stat taken before, if still the same.
          const before = stats.get(e.path);
          if (before === undefined || e.source === undefined) return;
          if (statKey(await lstat(e.source)).join() !== statKey(before).join())
            throw new Error(`${e.source} changed while it was archived`);
          remember(before, sha256, pastMargin(before, clock));
          sums.set(e.path, sha256);
        }),
      ),
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const c of chunks) {
          hash.update(c);
          size += c.length;
          yield c;
        }
      },
      createWriteStream(layerFile),
    );
    withSums = entries.map((e) => {
      if (e.type !== 'file' || e.sha256 !== undefined) return e;
      const sha256 = sums.get(e.path);
      if (sha256 === undefined) throw new Error(`${e.path} was not archived`);
      return { ...e, sha256 };
    });
  } catch (err) {
    await rm(layerFile, { force: true });
    throw err;
  }
  return {
    layerFile,
    layerDigest: `sha256:${hash.digest('hex')}`,
    layerSize: size,
    config: {
      format: o.format,
      task: o.task,
      key: o.key,
      outputs: portable,
      entries: withSums,
    },
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

/** A path of the layer: `/`-separated, relative, no empty, `.` or `..` segment. */
function cleanPath(p: string): string | undefined {
  const rel = p.endsWith('/') ? p.slice(0, -1) : p;
  return rel !== '' && rel.split('/').every((x) => x !== '' && x !== '.' && x !== '..')
    ? rel
    : undefined;
}

/** open(2) on the thread pool, giving the descriptor (for the synchronous calls after it). */
const openFd = promisify(openCallback);

/**
 * Files up to this size are gathered in memory, checked, then written with synchronous calls
 * (chmod, write, stat, close) after an asynchronous open: a restore of many small files makes
 * one thread-pool round trip a file, not five (each queued behind the build's other work),
 * and the costly part (creating the inode) stays off the main thread.
 */
const SMALL_FILE = 1024 * 1024;

/**
 * A small file of the layer, its sha256 checked before anything is written; remembered with
 * the stat it has once written (see {@link remember}).
 */
async function writeSmallFile(
  abs: string,
  body: AsyncIterable<Buffer>,
  mode: number,
  rel: string,
  sha256: string | undefined,
): Promise<Stats> {
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  for await (const chunk of body) {
    hash.update(chunk);
    chunks.push(chunk);
  }
  const actual = hash.digest('hex');
  if (actual !== sha256) throw new CorruptEntryError(`${rel} does not match its recorded sha256`);
  // Creating the file is the costly call (slow on a busy disk): off the main thread.
  const fd = await openFd(abs, 'wx', mode);
  try {
    fchmodSync(fd, mode); // open()'s mode is filtered by the umask
    for (const c of chunks) for (let off = 0; off < c.length;) off += writeSync(fd, c, off);
    const st = fstatSync(fd);
    remember(st, actual, false); // just written: racy
    return st;
  } finally {
    closeSync(fd);
  }
}

/**
 * Streams a layer into `staging`, checking each entry against the config as it comes: only
 * recorded paths (and the directories leading to the outputs), of the recorded type, under
 * directories this extraction made (never through a symlink), each file hashed as it is
 * written and compared with its recorded size, exec bit and sha256; then every recorded
 * entry must have come. Throws CorruptEntryError (the caller removes `staging`).
 */
async function extractLayer(
  source: AsyncIterable<Buffer>,
  staging: string,
  config: ArtifactConfig,
  /** Filled with each file's stat once written (by portable path). */
  written: Map<string, Stats>,
): Promise<void> {
  const want = new Map(config.entries.map((e) => [e.path, e]));
  // The directories leading to the outputs (`B`, `B/rpm`, ...) are not entries.
  const ancestors = new Set<string>();
  for (const o of config.outputs) {
    const parts = o.split('/');
    for (let i = 1; i < parts.length; i++) ancestors.add(parts.slice(0, i).join('/'));
  }
  const dirs = new Set<string>();
  const seen = new Set<string>();
  const ensureParents = async (rel: string): Promise<void> => {
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const q = parts.slice(0, i).join('/');
      if (dirs.has(q)) continue;
      if (!ancestors.has(q))
        throw new CorruptEntryError(`${rel} is not under a directory of the entry`);
      await mkdir(path.join(staging, ...q.split('/')));
      dirs.add(q);
    }
  };
  try {
    await readTar(source, async (header, body) => {
      const rel = cleanPath(header.path);
      if (rel === undefined)
        throw new CorruptEntryError(`malformed path ${header.path} in the entry`);
      if (header.type === 'other')
        throw new CorruptEntryError(
          `${rel}: tar entries of type ${JSON.stringify(header.flag)} are not allowed`,
        );
      const rec = want.get(rel);
      if (rec === undefined && header.type === 'dir' && ancestors.has(rel)) {
        if (!dirs.has(rel)) {
          await ensureParents(rel);
          await mkdir(path.join(staging, ...rel.split('/')));
          dirs.add(rel);
        }
        return;
      }
      if (rec === undefined || rec.link !== undefined || seen.has(rel))
        throw new CorruptEntryError(`unexpected ${rel} in the entry`);
      seen.add(rel);
      if (header.type !== rec.type)
        throw new CorruptEntryError(`${rel} is a ${header.type}, recorded as a ${rec.type}`);
      await ensureParents(rel);
      const abs = path.join(staging, ...rel.split('/'));
      if (rec.type === 'dir') {
        await mkdir(abs);
        dirs.add(rel);
      } else if (rec.type === 'symlink') {
        if (header.target !== rec.target)
          throw new CorruptEntryError(`${rel} points elsewhere than recorded`);
        symlinkSync(header.target, abs);
      } else {
        const exec = (header.mode & 0o100) !== 0;
        if (header.size !== rec.size || exec !== (rec.exec === true))
          throw new CorruptEntryError(`${rel} does not match its recorded size and mode`);
        if (header.size <= SMALL_FILE) {
          written.set(rel, await writeSmallFile(abs, body, exec ? 0o755 : 0o644, rel, rec.sha256));
          return;
        }
        const hash = createHash('sha256');
        const fh = await open(abs, 'wx', exec ? 0o755 : 0o644);
        try {
          for await (const chunk of body) {
            hash.update(chunk);
            await fh.write(chunk);
          }
        } finally {
          await fh.close();
        }
        const sha256 = hash.digest('hex');
        if (sha256 !== rec.sha256)
          throw new CorruptEntryError(`${rel} does not match its recorded sha256`);
        await chmod(abs, exec ? 0o755 : 0o644);
        const st = await lstat(abs);
        remember(st, sha256, false);
        written.set(rel, st);
      }
    });
  } catch (err) {
    if (err instanceof TarFormatError)
      throw new CorruptEntryError(`the layer is not a valid tar: ${err.message}`);
    throw err;
  }
  for (const [p, rec] of want)
    if (!seen.has(p) && rec.link === undefined)
      throw new CorruptEntryError(`${p} is missing from the entry`);
}

/**
 * Puts the entry's link entries into the (verified) staging tree: each a hard link of its
 * source, which must be a regular file with the recorded size, exec bit and sha256. Resolves
 * with the sources linked: linking changed their ctime (the inode's link count), so the
 * hasher's records of them, and of the links, need the post-link stat. Whether such a record
 * is trusted (not racy) is decided from the stat taken *before* linking, judged with a clock
 * read before that stat (fingerprint.ts's rule; and a hash known from before only if it was
 * trusted): the link's own fresh ctime changes no content.
 */
async function linkStaging(
  staging: string,
  config: ArtifactConfig,
  root: string,
  buildRoot: string,
): Promise<(RestoredFile & { stat: ContentStat; trusted: boolean })[]> {
  const linked: (RestoredFile & { stat: ContentStat; trusted: boolean })[] = [];
  for (const e of config.entries) {
    if (e.link === undefined) continue;
    if (e.type !== 'file') throw new CorruptEntryError(`${e.path}: only files can be links`);
    const src = localPath(e.link, root, buildRoot);
    if (src === undefined) throw new CorruptEntryError(`${e.path}: malformed link ${e.link}`);
    const clock = Date.now();
    const st = lstatSync(src, { throwIfNoEntry: false });
    const known =
      st?.isFile() === true && st.size === e.size && ((st.mode & 0o100) !== 0) === (e.exec === true)
        ? await sha256Of(src, st, undefined, clock)
        : undefined;
    const differs =
      st === undefined || !st.isFile()
        ? 'is missing'
        : known?.sha256 !== e.sha256
          ? 'differs from what the entry recorded'
          : undefined;
    if (differs !== undefined || st === undefined || known === undefined || e.sha256 === undefined)
      throw new EntryNotUsableError(`${e.path} links to ${e.link}, which ${differs} here`);
    const dest = path.join(staging, ...e.path.split('/'));
    mkdirSync(path.dirname(dest), { recursive: true });
    // Unchanged while it was checked (else what is linked is not what was checked).
    if (statKey(lstatSync(src)).join() !== statKey(st).join())
      throw new EntryNotUsableError(
        `${e.path} links to ${e.link}, which changed while it was checked`,
      );
    if (!(await linkOrCopy(src, dest))) continue;
    // Only the ctime changed (the link count): the checked sha256 still holds.
    const after = lstatSync(src);
    if (!sameContentStat(after, st)) continue;
    remember(after, e.sha256, known.trusted);
    linked.push({ path: src, sha256: e.sha256, stat: contentStat(after), trusted: known.trusted });
  }
  return linked;
}

/** What a change of content changes (ctime aside): inode, size, mtime. */
export interface ContentStat {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
}

function contentStat(st: Stats): ContentStat {
  return { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
}

function sameContentStat(st: Stats, c: ContentStat): boolean {
  return st.ino === c.ino && st.size === c.size && st.mtimeMs === c.mtimeMs;
}

/**
 * A file the restore put into place (or linked from), with its checked sha256 (hex) and whether
 * a record of it may be trusted (fingerprint.ts's racy rule), decided with a clock read before
 * the check it comes from, never when it is recorded: a linked file from its stat before
 * linking, a file written from its stat as written, at a clock read before it became visible
 * (a file written less than the margin before is racy: read again before the state is saved).
 */
export interface RestoredFile {
  readonly path: string;
  readonly sha256: string;
  /** When known: the stat the sha256 is valid for (a file whose stat differs is not primed). */
  readonly stat?: ContentStat;
  readonly trusted: boolean;
}

/**
 * {@link extractLayer} of a layer as it streams, its sha256 and size checked on the way: a
 * layer that does not match its digest is reported as such (even when its content failed a
 * check first), with the blob named so that a readwrite build can replace it.
 */
async function extractChecked(
  layer: { body: AsyncIterable<Buffer>; digest: string; size: number },
  staging: string,
  config: ArtifactConfig,
  written: Map<string, Stats>,
): Promise<void> {
  const hash = createHash('sha256');
  let n = 0;
  const mismatch = () =>
    new CorruptEntryError(`layer ${layer.digest} does not match its digest`, layer.digest);
  const hashed = (async function* () {
    for await (const c of layer.body) {
      n += c.length;
      if (n > layer.size)
        throw new CorruptEntryError(`layer ${layer.digest} is larger than recorded`, layer.digest);
      hash.update(c);
      yield c;
    }
  })();
  try {
    await extractLayer(hashed, staging, config, written);
  } catch (err) {
    // Read the rest: a layer whose bytes are not the recorded ones is the real problem.
    try {
      while (!(await hashed.next()).done);
    } catch {
      throw err;
    }
    if (n !== layer.size || `sha256:${hash.digest('hex')}` !== layer.digest) throw mismatch();
    throw err;
  }
  if (n !== layer.size || `sha256:${hash.digest('hex')}` !== layer.digest) throw mismatch();
}

/**
 * Streams a layer (a file, or the registry's response) into a staging directory in `workDir`,
 * checking every entry as it comes, links its link entries from their (checked) sources, then
 * moves each output into place; resolves with the files placed and the sources linked (see
 * {@link RestoredFile}: the linked ones with the stat their sha256 holds for). Throws
 * CorruptEntryError or EntryNotUsableError (nothing moved).
 */
export async function unpackArtifact(o: {
  /** The layer, as a file (its digest already checked) ... */
  layerFile?: string;
  /** ... or as it streams from the registry: its digest and size are checked here. */
  layer?: { body: AsyncIterable<Buffer>; digest: string; size: number };
  config: ArtifactConfig;
  root: string;
  buildRoot: string;
  workDir: string;
}): Promise<RestoredFile[]> {
  const staging = path.join(o.workDir, `restore-${process.pid}-${randomBytes(6).toString('hex')}`);
  mkdirSync(staging, { recursive: true });
  try {
    const written = new Map<string, Stats>();
    if (o.layer !== undefined) await extractChecked(o.layer, staging, o.config, written);
    else if (o.layerFile !== undefined)
      await extractLayer(
        createReadStream(o.layerFile) as AsyncIterable<Buffer>,
        staging,
        o.config,
        written,
      );
    else throw new Error('unpackArtifact: no layer');
    const linked = await linkStaging(staging, o.config, o.root, o.buildRoot);
    // Read before the outputs become visible. Until then the files written are the ones checked
    // (a private staging directory): any change after gets times past this clock. So a record
    // of one is trusted when its times were past the racy margin at this clock (and its content
    // stat is still the one written), never by a clock read later, when it is recorded.
    const clock = Date.now();
    for (const p of o.config.outputs) {
      const dest = localPath(p, o.root, o.buildRoot);
      if (dest === undefined) throw new CorruptEntryError(`malformed output path ${p}`);
      const src = path.join(staging, ...p.split('/'));
      mkdirSync(path.dirname(dest), { recursive: true });
      if (lstatSync(src).isDirectory()) await replaceDir(src, dest);
      else {
        await rm(dest, { recursive: true, force: true });
        await rename(src, dest);
      }
    }
    const bySource = new Map(linked.map((l) => [l.path, l]));
    const placed: RestoredFile[] = [];
    for (const e of o.config.entries) {
      const dest = localPath(e.path, o.root, o.buildRoot);
      if (e.type !== 'file' || e.sha256 === undefined || dest === undefined) continue;
      const from = e.link === undefined ? undefined : localPath(e.link, o.root, o.buildRoot);
      const l = from === undefined ? undefined : bySource.get(from);
      if (l !== undefined) {
        placed.push({ path: dest, sha256: e.sha256, stat: l.stat, trusted: l.trusted });
        continue;
      }
      const st = written.get(e.path);
      if (st === undefined) {
        placed.push({ path: dest, sha256: e.sha256, trusted: false }); // a copy of a link source
        continue;
      }
      const trusted = pastMargin(st, clock);
      if (trusted) remember(st, e.sha256, true);
      placed.push({ path: dest, sha256: e.sha256, stat: contentStat(st), trusted });
    }
    for (const l of linked) placed.push(l);
    return placed;
  } finally {
    // What is left: the directories leading to the outputs (or, after a failure, the part
    // extracted so far). Off the main thread: rmdir is slow on some file systems (overlayfs).
    await rm(staging, { recursive: true, force: true });
  }
}
