/**
 * The scheduler's hook into the build cache: for a task marked `cacheable` whose fingerprint
 * misses locally, {@link TaskCache.restore} looks up the entry of its portable key and brings
 * its outputs back (checked); after a successful run, {@link TaskCache.save} packs them for
 * upload (readwrite mode). Problems are warnings (`output` events of the task): the task then
 * just runs.
 */
import { statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { Semaphore } from '../../lib/async/semaphore.ts';
import { existsNoFollow } from '../../lib/fs/fence.ts';
import type { Reporter } from '../events.ts';
import type { FileHasher } from '../fingerprint.ts';
import type { GraphNode } from '../graph.ts';
import type { RestoredFile } from './artifact.ts';
import type { BuildCache, Restored, TaskIo } from './build-cache.ts';
import type { CacheKeys } from './key.ts';

/** What {@link TaskCache} needs from the run. */
export interface TaskCacheOptions {
  readonly cache: BuildCache;
  readonly keys: CacheKeys;
  readonly root: string;
  readonly buildRoot: string;
  /** Temp files of packing and unpacking (under BUILD_ROOT: same file system as outputs). */
  readonly workDir: string;
  readonly reporter: Reporter;
  /**
   * The run's hasher: told the sha256 of each restored file (checked by the restore), so that
   * recording the restored targets does not read them again.
   */
  readonly hasher?: FileHasher;
}

/** The hasher's hash (fingerprint.ts: base64url, 22 characters) of a hex sha256. */
function recordHash(sha256Hex: string): string {
  return Buffer.from(sha256Hex, 'hex').toString('base64url').slice(0, 22);
}

/**
 * Whether the hasher holds a trusted (not racy) record of `file` at exactly the stat `st`,
 * of the content whose sha256 is `sha256Hex`: packing then needs not read it (artifact.ts).
 */
export function hasherVouches(
  hasher: FileHasher,
  file: string,
  st: Stats,
  sha256Hex: string,
): boolean {
  const rec = hasher.cache.get(file);
  return (
    rec !== undefined &&
    rec[4] === 1 &&
    rec[0] === st.mtimeMs &&
    rec[1] === st.size &&
    rec[2] === st.ino &&
    rec[5] === st.ctimeMs &&
    rec[3] === recordHash(sha256Hex)
  );
}

/**
 * Records a restored file's checked sha256 in the hasher's stat cache (its record format:
 * fingerprint.ts {@link FileRecord}), trusted only as {@link RestoredFile} says (decided with a
 * clock read before the restore's check: one read now, after a long restore, would trust
 * whatever changed the file since); a racy record is re-hashed before the state is saved, as
 * any fresh record (fingerprint.ts RACY_MS).
 */
export function primeHasher(hasher: FileHasher, f: RestoredFile): void {
  const st = statSync(f.path, { throwIfNoEntry: false });
  if (st === undefined || !st.isFile()) return;
  const expect = f.stat;
  // Changed since the restore checked it: left to the hasher (read when next needed).
  if (
    expect !== undefined &&
    (st.ino !== expect.ino || st.size !== expect.size || st.mtimeMs !== expect.mtimeMs)
  ) {
    hasher.invalidate(f.path);
    return;
  }
  const trusted = f.trusted ? 1 : 0;
  hasher.invalidate(f.path);
  hasher.cache.set(f.path, [
    st.mtimeMs,
    st.size,
    st.ino,
    recordHash(f.sha256),
    trusted,
    st.ctimeMs,
  ]);
  hasher.misses++;
}

/** The outputs the cache carries for a node: `cacheable.outputs`, else its targets. */
export function cacheOutputs(node: GraphNode, root: string): readonly string[] | undefined {
  const c = node.def.cacheable;
  if (c === undefined || c === false) return undefined;
  if (c === true || c.outputs === undefined)
    return node.targets.length > 0 ? node.targets : undefined;
  return c.outputs.map((o) => path.resolve(root, o));
}

/** The directories whose files the node's outputs may hard-link (`cacheable.linkFrom`). */
function linkSources(node: GraphNode, root: string): readonly string[] {
  const c = node.def.cacheable;
  return typeof c === 'object' ? (c.linkFrom ?? []).map((d) => path.resolve(root, d)) : [];
}

/**
 * Restores at a time. They run without holding a worker (scheduler.ts): network and disk
 * bound, a few in flight hide the round trips without flooding the registry.
 */
export const RESTORES_AT_ONCE = 6;

export class TaskCache {
  readonly cache: BuildCache;
  private readonly o: TaskCacheOptions;
  private readonly restores = new Semaphore(RESTORES_AT_ONCE);
  /** Keys computed before a run, reused to save after it. */
  private readonly keyByTask = new Map<string, string>();
  /** Tasks whose key was refused (warned once). */
  private readonly refused = new Set<string>();

  constructor(o: TaskCacheOptions) {
    this.o = o;
    this.cache = o.cache;
    o.cache.warnSink = (line) => {
      o.reporter.emit({ event: 'output', task: 'build-cache', stream: 'log', line });
    };
  }

  private io(node: GraphNode, key: string, outputs: readonly string[]): TaskIo {
    const hasher = this.o.hasher;
    return {
      task: node.name,
      key,
      outputs,
      linkFrom: linkSources(node, this.o.root),
      root: this.o.root,
      buildRoot: this.o.buildRoot,
      workDir: this.o.workDir,
      ...(hasher === undefined
        ? {}
        : {
            trustedHash: (f: string, st: Stats, sha: string) => hasherVouches(hasher, f, st, sha),
          }),
      warn: (line) => {
        this.o.reporter.emit({ event: 'output', task: node.name, stream: 'log', line });
      },
    };
  }

  private async keyOf(node: GraphNode): Promise<string | undefined> {
    const k = await this.o.keys.keyOf(node.name);
    if ('refused' in k) {
      if (this.refused.has(node.name)) return undefined;
      this.refused.add(node.name);
      this.o.reporter.emit({
        event: 'output',
        task: node.name,
        stream: 'log',
        line: `warning: build cache: ${node.name} not cached: ${k.refused}`,
      });
      return undefined;
    }
    this.keyByTask.set(node.name, k.key);
    return k.key;
  }

  /** Whether the node is cacheable (a restore is tried before it runs). */
  covers(node: GraphNode): boolean {
    return cacheOutputs(node, this.o.root) !== undefined;
  }

  /** Restores the node's outputs from the cache; undefined when it must run. */
  restore(node: GraphNode): Promise<(Restored & { key: string }) | undefined> {
    return this.restores.run(() => this.restoreNow(node));
  }

  private async restoreNow(node: GraphNode): Promise<(Restored & { key: string }) | undefined> {
    const outputs = cacheOutputs(node, this.o.root);
    if (outputs === undefined) return undefined;
    try {
      const key = await this.keyOf(node);
      if (key === undefined) return undefined;
      const r = await this.cache.restoreTask(this.io(node, key, outputs));
      if (r === undefined) return undefined;
      const hasher = this.o.hasher;
      if (hasher !== undefined) for (const f of r.placed) primeHasher(hasher, f);
      // The outputs must hold every target (`cacheable.outputs` naming the wrong paths).
      const lacking = node.targets.filter((t) => !existsNoFollow(t));
      if (lacking.length > 0) {
        this.warn(
          node,
          `the entry lacks ${lacking.map((t) => path.relative(this.o.root, t)).join(', ')}; running the task`,
        );
        return undefined;
      }
      return { ...r, key };
    } catch (err) {
      // A key that cannot be computed (a file vanished): not cached, never a failure.
      this.warn(node, err instanceof Error ? err.message : String(err));
      return undefined;
    }
  }

  private warn(node: GraphNode, text: string): void {
    this.o.reporter.emit({
      event: 'output',
      task: node.name,
      stream: 'log',
      line: `warning: build cache: ${node.name}: ${text}`,
    });
  }

  /** After a successful run: packs the outputs for upload (readwrite mode only). */
  async save(node: GraphNode): Promise<void> {
    const outputs = cacheOutputs(node, this.o.root);
    if (outputs === undefined || !this.cache.writable) return;
    const key = this.keyByTask.get(node.name) ?? (await this.keyOf(node).catch(() => undefined));
    if (key === undefined) return;
    await this.cache.saveTask(this.io(node, key, outputs));
  }
}
