/**
 * The scheduler's hook into the build cache: for a task marked `cacheable` whose fingerprint
 * misses locally, {@link TaskCache.restore} looks up the entry of its portable key and brings
 * its outputs back (checked); after a successful run, {@link TaskCache.save} packs them for
 * upload (readwrite mode). Problems are warnings (`output` events of the task): the task then
 * just runs.
 */
import path from 'node:path';
import { existsNoFollow } from '../../lib/fs/fence.ts';
import type { Reporter } from '../events.ts';
import type { GraphNode } from '../graph.ts';
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
}

/** The outputs the cache carries for a node: `cacheable.outputs`, else its targets. */
export function cacheOutputs(node: GraphNode, root: string): readonly string[] | undefined {
  const c = node.def.cacheable;
  if (c === undefined || c === false) return undefined;
  if (c === true) return node.targets.length > 0 ? node.targets : undefined;
  return c.outputs.map((o) => path.resolve(root, o));
}

export class TaskCache {
  readonly cache: BuildCache;
  private readonly o: TaskCacheOptions;
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
    return {
      task: node.name,
      key,
      outputs,
      root: this.o.root,
      buildRoot: this.o.buildRoot,
      workDir: this.o.workDir,
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

  /** Restores the node's outputs from the cache; undefined when it must run. */
  async restore(node: GraphNode): Promise<(Restored & { key: string }) | undefined> {
    const outputs = cacheOutputs(node, this.o.root);
    if (outputs === undefined) return undefined;
    try {
      const key = await this.keyOf(node);
      if (key === undefined) return undefined;
      const r = await this.cache.restoreTask(this.io(node, key, outputs));
      if (r === undefined) return undefined;
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
