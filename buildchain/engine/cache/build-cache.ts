/**
 * The build cache on an OCI registry (`BUILD_CACHE=oci://HOST[:PORT]/REPO`): one repository
 * holding
 * - task outputs: an OCI image manifest tagged `task-<key>` with artifactType
 *   {@link TASK_ARTIFACT_TYPE}, a JSON config ({@link ArtifactConfig}) and one deterministic tar
 *   layer;
 * - blobs the shared blob store fetched from an upstream registry, each kept alive by a small
 *   manifest tagged `blob-<hex>` (a registry's garbage collection removes untagged blobs).
 *
 * Cache problems never fail a build: every method here reports a problem through `warn` and
 * answers "not cached". After the registry proved unreachable once, the cache is off for the
 * rest of the build (one warning, no time lost per task).
 */
import { setMaxListeners } from 'node:events';
import { createReadStream } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { Semaphore } from '../../lib/async/semaphore.ts';
import { TaskError } from '../../lib/errors.ts';
import { readBody } from '../../lib/http/body.ts';
import { MEDIA_OCI_MANIFEST, sha256Digest } from '../../lib/oci/manifest.ts';
import { OciRepositoryClient } from '../../lib/oci/repository-client.ts';
import {
  checkConfig,
  CorruptEntryError,
  EntryNotUsableError,
  NotCacheableError,
  packArtifact,
  portablePath,
  unpackArtifact,
  type ArtifactConfig,
  type RestoredFile,
  type TrustedHash,
} from './artifact.ts';
import { CACHE_FORMAT } from './key.ts';

export const TASK_ARTIFACT_TYPE = 'application/vnd.metalk8s.buildchain.task.v1';
export const TASK_CONFIG_TYPE = 'application/vnd.metalk8s.buildchain.task.config.v1+json';
export const BLOB_ARTIFACT_TYPE = 'application/vnd.metalk8s.buildchain.blob.v1';
export const EMPTY_CONFIG_TYPE = 'application/vnd.oci.empty.v1+json';
const LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';
const CREATED = 'org.opencontainers.image.created';
const TASK_ANNOTATION = 'io.metalk8s.buildchain.task';
const EMPTY = Buffer.from('{}');
/** Largest artifact config accepted (the list of entries). */
const MAX_CONFIG_BYTES = 32 * 1024 * 1024;
/**
 * Largest config also written inline in the manifest (`data`); a larger one (a repo of
 * thousands of RPMs) is fetched as a blob: manifests stay well under registries' limits
 * (4 MiB for distribution).
 */
export const MAX_INLINE_CONFIG_BYTES = 256 * 1024;
/**
 * Largest layer also written inline in the manifest (`data`): a restore of a small entry (a
 * repo's metadata, an SRPM, a report) is then one request. The layer blob is uploaded all the
 * same.
 */
export const MAX_INLINE_LAYER_BYTES = 256 * 1024;

/** Listeners the build's abort signal may have before Node warns of a leak. */
const MAX_SIGNAL_LISTENERS = 100;

/** `read`: look up only (pull requests); `readwrite`: also upload (CI on main). */
export type CacheMode = 'read' | 'readwrite';

/** Options of {@link BuildCache}. */
export interface BuildCacheOptions {
  /** `host[:port]`. */
  readonly host: string;
  readonly repository: string;
  readonly mode: CacheMode;
  readonly insecure?: boolean;
  /** `user:password` for the host (REGISTRY_AUTH_FILE), looked up on the first challenge. */
  readonly credentials?: () => Promise<string | undefined>;
  /** Connect timeout (ms) of each request; default the HTTP layer's. */
  readonly connectTimeoutMs?: number;
  readonly idleTimeoutMs?: number;
}

/** Counters of one build (benchmarks, the summary of `-v`). */
export interface CacheStats {
  tasksRestored: number;
  tasksSaved: number;
  tasksMissed: number;
  /** Bytes of task layers downloaded. */
  taskBytesDown: number;
  taskBytesUp: number;
  blobsFromCache: number;
  blobBytesFromCache: number;
  /** Blobs (and bytes) the blob store had to fetch from the upstream. */
  blobsFromUpstream: number;
  blobBytesFromUpstream: number;
  blobsUploaded: number;
  /** Blobs (and bytes) the cache got by a cross-repository mount: no bytes sent. */
  blobsMounted: number;
  blobBytesMounted: number;
  blobBytesUp: number;
  warnings: number;
}

/** What a restore brought back. */
export interface Restored {
  readonly bytes: number;
  readonly files: number;
  /**
   * The files put into place, and the sources of those linked (their ctime changed), with
   * their checked sha256: what the hasher is told.
   */
  readonly placed: readonly RestoredFile[];
}

/** Where to unpack and pack (under BUILD_ROOT), and how to name outputs. */
export interface TaskIo {
  readonly task: string;
  readonly key: string;
  /** Absolute output paths (targets, or the task's `cacheable.outputs`). */
  readonly outputs: readonly string[];
  /** Directories whose files outputs may hard-link (recorded as links, see artifact.ts). */
  readonly linkFrom?: readonly string[];
  readonly root: string;
  readonly buildRoot: string;
  /** A directory under BUILD_ROOT for temp files (same file system as the outputs). */
  readonly workDir: string;
  readonly warn: (line: string) => void;
  /** The build's hasher vouches for a file's content (see artifact.ts {@link TrustedHash}). */
  readonly trustedHash?: TrustedHash;
}

/** One entry as `cache status` sees it. */
export interface CacheEntryInfo {
  readonly tag: string;
  readonly kind: 'task' | 'blob';
  readonly digest: string;
  /** Bytes of the blobs the manifest references. */
  readonly bytes: number;
  readonly created: Date | undefined;
  readonly task?: string;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isUnreachable(err: unknown): boolean {
  return err instanceof TaskError && err.reason === 'unreachable';
}

/** The tag of a task entry. */
export function taskTag(key: string): string {
  return `task-${key}`;
}

/** The tag keeping a blob alive. */
export function blobTag(digest: string): string {
  return `blob-${digest.slice('sha256:'.length)}`;
}

export class BuildCache {
  readonly host: string;
  readonly repository: string;
  readonly mode: CacheMode;
  readonly stats: CacheStats = {
    tasksRestored: 0,
    tasksSaved: 0,
    tasksMissed: 0,
    taskBytesDown: 0,
    taskBytesUp: 0,
    blobsFromCache: 0,
    blobBytesFromCache: 0,
    blobsFromUpstream: 0,
    blobBytesFromUpstream: 0,
    blobsUploaded: 0,
    blobsMounted: 0,
    blobBytesMounted: 0,
    blobBytesUp: 0,
    warnings: 0,
  };
  /** Where build-level warnings go (set by the engine run; stderr by default). */
  warnSink: (line: string) => void = (line) => {
    process.stderr.write(`${line}\n`);
  };
  private readonly client: OciRepositoryClient;
  private offline: string | undefined;
  private readonly pending = new Set<Promise<void>>();
  private readonly uploadingBlobs = new Set<string>();
  /** Background uploads at a time (each holds a file open). */
  private readonly uploads = new Semaphore(4);
  /** The upload of the empty config blob, shared by every blob entry (see putEmptyConfig). */
  private emptyConfig: Promise<void> | undefined;
  /** Keys whose entry proved corrupt: readwrite mode replaces it after the run. */
  private readonly corruptKeys = new Set<string>();

  constructor(o: BuildCacheOptions, signal?: AbortSignal) {
    // Each request in flight listens to the build's signal: restores, blob fetches and uploads
    // run side by side (beside the workers' own), past Node's default warning at 10.
    if (signal !== undefined) setMaxListeners(MAX_SIGNAL_LISTENERS, signal);
    this.host = o.host;
    this.repository = o.repository;
    this.mode = o.mode;
    this.client = new OciRepositoryClient({
      host: o.host,
      repository: o.repository,
      insecure: o.insecure === true,
      ...(o.credentials === undefined ? {} : { credentials: o.credentials }),
      ...(signal === undefined ? {} : { signal }),
      connectTimeoutMs: o.connectTimeoutMs ?? 5_000,
      ...(o.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: o.idleTimeoutMs }),
    });
  }

  /** `oci://host/repo`. */
  get url(): string {
    return `oci://${this.host}/${this.repository}`;
  }

  get writable(): boolean {
    return this.mode === 'readwrite';
  }

  /** Reports a problem; an unreachable registry turns the cache off for this build. */
  private problem(err: unknown, what: string, warn: (line: string) => void): void {
    if (isUnreachable(err)) {
      if (this.offline !== undefined) return;
      this.offline = message(err);
    }
    this.stats.warnings++;
    const tail = isUnreachable(err) ? ' (the cache is off for the rest of this build)' : '';
    warn(`warning: build cache ${this.url}: ${what}: ${message(err)}${tail}`);
  }

  // ---------------------------------------------------------------- task outputs

  /**
   * Brings back a task's outputs from its entry, checked (see artifact.ts). Undefined on a
   * miss or any problem (warned): the task then runs.
   */
  async restoreTask(io: TaskIo): Promise<Restored | undefined> {
    if (this.offline !== undefined) return undefined;
    let body: Readable | undefined;
    try {
      const outputs = io.outputs.map((o) => portablePath(o, io.root, io.buildRoot));
      const m = await this.client.getManifest(taskTag(io.key), MEDIA_OCI_MANIFEST);
      if (m === undefined) {
        this.stats.tasksMissed++;
        return undefined;
      }
      const doc = parseManifest(m.bytes);
      const cfgDesc = doc.config;
      const layerDesc = doc.layers[0];
      if (
        cfgDesc.mediaType !== TASK_CONFIG_TYPE ||
        doc.layers.length !== 1 ||
        layerDesc === undefined
      )
        throw new CorruptEntryError('the manifest is not a task artifact');
      // Written inline (the descriptor's `data`, OCI 1.1) since format 2's second writer: no
      // request for it; entries of older writers have it only as a blob.
      const cfgBytes =
        cfgDesc.data !== undefined
          ? inlineData(cfgDesc, 'config', MAX_CONFIG_BYTES)
          : await this.readSmallBlob(cfgDesc.digest, cfgDesc.size);
      let cfgDoc: unknown;
      try {
        cfgDoc = JSON.parse(cfgBytes.toString('utf8'));
      } catch {
        throw new CorruptEntryError('the entry config is not JSON');
      }
      const config = checkConfig(cfgDoc, {
        task: io.task,
        key: io.key,
        format: CACHE_FORMAT,
        outputs,
      });
      // Inline (small entries, written so since format 2's third writer): no request for it.
      body =
        layerDesc.data !== undefined
          ? Readable.from([inlineData(layerDesc, 'layer', MAX_INLINE_LAYER_BYTES)])
          : await this.client.getBlob(layerDesc.digest);
      if (body === undefined) throw new CorruptEntryError(`layer ${layerDesc.digest} is missing`);
      // Streamed into the staging directory, digest checked on the way (no temp copy).
      const placed = await unpackArtifact({
        layer: { body, digest: layerDesc.digest, size: layerDesc.size },
        config,
        root: io.root,
        buildRoot: io.buildRoot,
        workDir: io.workDir,
      });
      this.stats.tasksRestored++;
      this.stats.taskBytesDown += layerDesc.size;
      return {
        bytes: layerDesc.size,
        files: config.entries.filter((e) => e.type === 'file').length,
        placed,
      };
    } catch (err) {
      if (err instanceof NotCacheableError) return undefined;
      if (err instanceof CorruptEntryError) await this.forgetCorrupt(io.key, err);
      const what =
        err instanceof CorruptEntryError
          ? `corrupt entry for ${io.task}, not used`
          : err instanceof EntryNotUsableError
            ? `entry for ${io.task} not usable here, the task runs`
            : `restoring ${io.task}`;
      this.problem(err, what, io.warn);
      return undefined;
    } finally {
      body?.destroy();
    }
  }

  /**
   * Readwrite mode: a corrupt entry is replaced after the task ran (its bad layer deleted
   * first when the registry allows it, or the upload would find it "present").
   */
  private async forgetCorrupt(key: string, err: CorruptEntryError): Promise<void> {
    this.corruptKeys.add(key);
    if (!this.writable || err.blob === undefined) return;
    await this.client.deleteBlob(err.blob).catch(() => undefined);
  }

  /**
   * Packs a task's outputs now (before later tasks touch them) and uploads them in the
   * background ({@link drain} waits). Read mode, an existing entry or an output the cache
   * cannot carry: nothing is uploaded.
   */
  async saveTask(io: TaskIo): Promise<void> {
    if (!this.writable || this.offline !== undefined) return;
    try {
      if (
        !this.corruptKeys.has(io.key) &&
        (await this.client.hasManifest(taskTag(io.key), MEDIA_OCI_MANIFEST))
      )
        return;
      const packed = await packArtifact({ ...io, format: CACHE_FORMAT });
      this.track(
        this.uploads
          .run(() =>
            this.uploadArtifact(
              packed.config,
              packed.layerFile,
              packed.layerDigest,
              packed.layerSize,
            ),
          )
          .catch((err: unknown) => {
            this.problem(err, `uploading ${io.task}`, io.warn);
          })
          .finally(() => rm(packed.layerFile, { force: true })),
      );
    } catch (err) {
      if (err instanceof NotCacheableError) {
        io.warn(`warning: build cache: ${io.task} not cached: ${err.message}`);
        return;
      }
      this.problem(err, `saving ${io.task}`, io.warn);
    }
  }

  private async uploadArtifact(
    config: ArtifactConfig,
    layerFile: string,
    layerDigest: string,
    layerSize: number,
  ): Promise<void> {
    const cfg = Buffer.from(JSON.stringify(config));
    const cfgDigest = sha256Digest(cfg);
    await this.client.putBlob(cfgDigest, cfg.length, () => cfg);
    const how = await this.client.putBlob(layerDigest, layerSize, () =>
      createReadStream(layerFile),
    );
    const inlineLayer =
      layerSize <= MAX_INLINE_LAYER_BYTES ? (await readFile(layerFile)).toString('base64') : '';
    const manifest = {
      schemaVersion: 2,
      mediaType: MEDIA_OCI_MANIFEST,
      artifactType: TASK_ARTIFACT_TYPE,
      // Inline as well (small): a restore needs no request for it. The blob stays uploaded
      // for readers ignoring `data` and for registries checking referenced blobs.
      config: {
        mediaType: TASK_CONFIG_TYPE,
        digest: cfgDigest,
        size: cfg.length,
        ...(cfg.length <= MAX_INLINE_CONFIG_BYTES ? { data: cfg.toString('base64') } : {}),
      },
      layers: [
        {
          mediaType: LAYER_TAR,
          digest: layerDigest,
          size: layerSize,
          ...(inlineLayer === '' ? {} : { data: inlineLayer }),
        },
      ],
      annotations: { [CREATED]: new Date().toISOString(), [TASK_ANNOTATION]: config.task },
    };
    await this.client.putManifest(
      taskTag(config.key),
      Buffer.from(JSON.stringify(manifest)),
      MEDIA_OCI_MANIFEST,
    );
    this.stats.tasksSaved++;
    if (how === 'uploaded') this.stats.taskBytesUp += layerSize;
  }

  // ---------------------------------------------------------------- blobs

  /**
   * The blob from the cache, or undefined (absent, or a problem: warned). The caller checks
   * the digest as it reads and falls back to the upstream on a mismatch ({@link blobFailed}).
   */
  async openBlob(
    digest: string,
    warn: (line: string) => void = this.warnSink,
  ): Promise<Readable | undefined> {
    if (this.offline !== undefined) return undefined;
    try {
      return await this.client.getBlob(digest);
    } catch (err) {
      this.problem(err, `fetching blob ${digest}`, warn);
      return undefined;
    }
  }

  /** Counts a blob served by the cache. */
  blobServed(bytes: number): void {
    this.stats.blobsFromCache++;
    this.stats.blobBytesFromCache += bytes;
  }

  /** Counts a blob the blob store fetched from the upstream. */
  blobFromUpstream(bytes: number): void {
    this.stats.blobsFromUpstream++;
    this.stats.blobBytesFromUpstream += bytes;
  }

  /** A blob from the cache did not match its digest: warned; the caller fetches it upstream. */
  blobFailed(digest: string, err: unknown, warn: (line: string) => void = this.warnSink): void {
    this.problem(err, `blob ${digest} unusable, fetched from the upstream instead`, warn);
  }

  /**
   * Uploads a blob the blob store fetched from the upstream (readwrite mode), in the
   * background: a cross-repository mount from `mountFrom` when the upstream is this very
   * registry, else a monolithic upload; then a `blob-<hex>` manifest keeps it alive.
   */
  queueBlobUpload(
    digest: string,
    size: number,
    file: string,
    mountFrom?: { host: string; repository: string },
  ): void {
    if (!this.writable || this.offline !== undefined || this.uploadingBlobs.has(digest)) return;
    this.uploadingBlobs.add(digest);
    const from =
      mountFrom !== undefined && mountFrom.host === this.host ? mountFrom.repository : undefined;
    this.track(
      this.uploads
        .run(async () => {
          const how = await this.client.putBlob(digest, size, () => createReadStream(file), from);
          await this.putEmptyConfig();
          const manifest = {
            schemaVersion: 2,
            mediaType: MEDIA_OCI_MANIFEST,
            artifactType: BLOB_ARTIFACT_TYPE,
            config: {
              mediaType: EMPTY_CONFIG_TYPE,
              digest: sha256Digest(EMPTY),
              size: EMPTY.length,
            },
            layers: [{ mediaType: 'application/octet-stream', digest, size }],
            annotations: { [CREATED]: new Date().toISOString() },
          };
          await this.client.putManifest(
            blobTag(digest),
            Buffer.from(JSON.stringify(manifest)),
            MEDIA_OCI_MANIFEST,
          );
          if (how === 'uploaded') {
            this.stats.blobsUploaded++;
            this.stats.blobBytesUp += size;
          } else if (how === 'mounted') {
            this.stats.blobsMounted++;
            this.stats.blobBytesMounted += size;
          }
        })
        .catch((err: unknown) => {
          this.problem(err, `uploading blob ${digest}`, this.warnSink);
        }),
    );
  }

  /**
   * Uploads the empty config of blob entries once per build: concurrent uploads of one digest
   * make distribution answer DIGEST_INVALID / HTTP 500 now and then (seen under load).
   */
  private putEmptyConfig(): Promise<void> {
    this.emptyConfig ??= this.client
      .putBlob(sha256Digest(EMPTY), EMPTY.length, () => EMPTY)
      .then(
        () => undefined,
        (err: unknown) => {
          this.emptyConfig = undefined;
          throw err;
        },
      );
    return this.emptyConfig;
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Waits for every background upload (called at the end of a build). */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  /** A config blob (small), its digest checked. */
  private async readSmallBlob(digest: string, size: number): Promise<Buffer> {
    if (size > MAX_CONFIG_BYTES) throw new CorruptEntryError(`config blob of ${size} bytes`);
    const body = await this.client.getBlob(digest);
    if (body === undefined) throw new CorruptEntryError(`config blob ${digest} is missing`);
    const bytes = await readBody(body, MAX_CONFIG_BYTES);
    if (sha256Digest(bytes) !== digest)
      throw new CorruptEntryError(`config blob ${digest} does not match its digest`, digest);
    return bytes;
  }

  // ---------------------------------------------------------------- maintenance

  /** Every entry of the repository (task outputs and blobs), with sizes and ages. */
  async entries(): Promise<CacheEntryInfo[]> {
    const lookups = new Semaphore(8);
    const found = await Promise.all(
      (await this.client.listTags()).sort().map((tag) => lookups.run(() => this.entryOf(tag))),
    );
    return found.filter((e): e is CacheEntryInfo => e !== undefined);
  }

  /** One entry by its tag; undefined for a tag that is not the cache's, or unreadable. */
  private async entryOf(tag: string): Promise<CacheEntryInfo | undefined> {
    const kind = tag.startsWith('task-') ? 'task' : tag.startsWith('blob-') ? 'blob' : undefined;
    if (kind === undefined) return undefined;
    const m = await this.client.getManifest(tag, MEDIA_OCI_MANIFEST);
    if (m === undefined) return undefined;
    let doc: ParsedArtifactManifest;
    try {
      doc = parseManifest(m.bytes);
    } catch {
      return undefined;
    }
    const created = doc.annotations[CREATED];
    const date = created === undefined ? undefined : new Date(created);
    const task = doc.annotations[TASK_ANNOTATION];
    return {
      tag,
      kind,
      digest: m.digest ?? sha256Digest(m.bytes),
      bytes: doc.config.size + doc.layers.reduce((s, l) => s + l.size, 0),
      created: date !== undefined && !Number.isNaN(date.getTime()) ? date : undefined,
      ...(task === undefined ? {} : { task }),
    };
  }

  /** Deletes the entries created before `before` (and those without a date). */
  async prune(before: Date, dryRun = false): Promise<CacheEntryInfo[]> {
    const old = (await this.entries()).filter((e) => e.created === undefined || e.created < before);
    if (!dryRun) for (const e of old) await this.client.deleteManifest(e.digest);
    return old;
  }
}

interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  /** Base64 of the content, when the writer put it inline (OCI 1.1 `data`). */
  readonly data?: string;
}

interface ParsedArtifactManifest {
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly annotations: Readonly<Record<string, string>>;
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

function descriptorOf(v: unknown): Descriptor {
  const d = v as { mediaType?: unknown; digest?: unknown; size?: unknown; data?: unknown } | null;
  if (
    d === null ||
    typeof d !== 'object' ||
    typeof d.mediaType !== 'string' ||
    typeof d.digest !== 'string' ||
    !DIGEST.test(d.digest) ||
    typeof d.size !== 'number' ||
    !Number.isSafeInteger(d.size) ||
    d.size < 0 ||
    (d.data !== undefined && typeof d.data !== 'string')
  )
    throw new CorruptEntryError('the manifest has a malformed descriptor');
  return {
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size,
    ...(typeof d.data === 'string' ? { data: d.data } : {}),
  };
}

/** The inline content of a descriptor, checked against its size and digest (pure). */
function inlineData(d: Descriptor, what: 'config' | 'layer', max: number): Buffer {
  const bytes = Buffer.from(d.data ?? '', 'base64');
  if (
    bytes.length !== d.size ||
    bytes.length > max ||
    bytes.toString('base64') !== d.data ||
    sha256Digest(bytes) !== d.digest
  )
    throw new CorruptEntryError(`the inline ${what} does not match its digest ${d.digest}`);
  return bytes;
}

/** Parses a cache manifest (pure); throws CorruptEntryError. */
function parseManifest(bytes: Buffer): ParsedArtifactManifest {
  let doc: { config?: unknown; layers?: unknown; annotations?: unknown };
  try {
    doc = JSON.parse(bytes.toString('utf8')) as typeof doc;
  } catch {
    throw new CorruptEntryError('the manifest is not JSON');
  }
  if (!Array.isArray(doc.layers)) throw new CorruptEntryError('the manifest has no layers');
  const annotations: Record<string, string> = {};
  if (typeof doc.annotations === 'object' && doc.annotations !== null)
    for (const [k, v] of Object.entries(doc.annotations))
      if (typeof v === 'string') annotations[k] = v;
  return { config: descriptorOf(doc.config), layers: doc.layers.map(descriptorOf), annotations };
}

let active: BuildCache | undefined;

/**
 * The cache of the running build, for the shared blob store (set by the CLI around a build;
 * undefined without BUILD_CACHE).
 */
export function activeBuildCache(): BuildCache | undefined {
  return active;
}

/** Sets (or clears) the cache of the running build. */
export function setActiveBuildCache(cache: BuildCache | undefined): void {
  active = cache;
}
