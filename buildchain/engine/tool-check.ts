/**
 * `tools: [...]` on a task: each tool must resolve to an executable (else `tool-not-found`)
 * and its version (output of its versionArgs, or the binary's identity when it has none)
 * joins the task's fingerprint. Versions are cached per run, and across runs by the binary's
 * path, mtime, size and inode (so a no-op build runs no version command), once the binary is
 * older than the racy margin (lib/fs/racy.ts) at a clock reading taken before its stat: one
 * replaced within the same clock tick as its stat would keep that stat.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { runCommand } from './exec/run-command.ts';
import { TaskError } from './task.ts';
import type { ToolSpec } from './task.ts';
import type { MapLike } from './record-map.ts';
import type { ToolRecord } from './state-store.ts';
import { RACY_MS } from '../lib/fs/racy.ts';

/** Time limit of a tool's version query (ms). */
const VERSION_TIMEOUT_MS = 15_000;

/** Finds an executable: a path (relative to `root`) or a bare name looked up on PATH. */
export function findExecutable(
  bin: string,
  root: string,
  pathEnv = process.env.PATH ?? '',
): string | undefined {
  const candidates = bin.includes('/')
    ? [path.resolve(root, bin)]
    : pathEnv
        .split(path.delimiter)
        .filter((d) => d !== '')
        .map((d) => path.join(d, bin));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      if (statSync(c).isFile()) return c;
    } catch {
      // not there, try the next one
    }
  }
  return undefined;
}

export class ToolChecker {
  private readonly specs: Readonly<Record<string, ToolSpec>>;
  private readonly root: string;
  private readonly cache: MapLike<ToolRecord>;
  private readonly versions = new Map<string, Promise<string>>();
  private readonly resolved = new Map<string, string>();
  /** True when a version command ran (the persisted cache changed). */
  cacheChanged = false;

  constructor(specs: Readonly<Record<string, ToolSpec>>, root: string, cache: MapLike<ToolRecord>) {
    this.specs = specs;
    this.root = root;
    this.cache = cache;
  }

  /** Throws `tool-not-found` for the first tool of `names` that cannot be run. */
  check(names: readonly string[]): void {
    for (const n of names) this.resolve(n);
  }

  /** Tools already found in this run (every task naming a tool would search PATH again). */
  private readonly found = new Map<string, { spec: ToolSpec; file: string }>();

  private resolve(name: string): { spec: ToolSpec; file: string } {
    const known = this.found.get(name);
    if (known !== undefined) return known;
    const spec = this.specs[name];
    if (spec === undefined) {
      throw new TaskError('tool-not-found', `tool-not-found: ${name} (not in the tool registry)`, {
        hint: 'use a name from buildchain/config/tools.ts',
      });
    }
    const file = spec.bin === '' ? undefined : findExecutable(spec.bin, this.root);
    if (file === undefined) {
      throw new TaskError(
        'tool-not-found',
        `tool-not-found: ${name} (set ${spec.envKey} or run the setup command)`,
        {
          hint:
            spec.installHint !== undefined
              ? `looked for ${JSON.stringify(spec.bin)} on PATH; ${spec.installHint}`
              : `looked for ${JSON.stringify(spec.bin)} on PATH; the setup command is: npm run setup`,
        },
      );
    }
    const out = { spec, file };
    this.found.set(name, out);
    return out;
  }

  /** Tool name → version string, for the fingerprint. */
  async versionsOf(names: readonly string[]): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const n of names) out[n] = await this.version(n);
    return out;
  }

  /** Versions already known in this run, or undefined when one must still be read. */
  versionsSync(names: readonly string[]): Record<string, string> | undefined {
    const out: Record<string, string> = {};
    for (const n of names) {
      const v = this.resolved.get(n);
      if (v === undefined) return undefined;
      out[n] = v;
    }
    return out;
  }

  private version(name: string): Promise<string> {
    let v = this.versions.get(name);
    if (v === undefined) {
      v = this.readVersion(name).then((text) => {
        this.resolved.set(name, text);
        return text;
      });
      this.versions.set(name, v);
    }
    return v;
  }

  private async readVersion(name: string): Promise<string> {
    const { spec, file } = this.resolve(name);
    const clock = Date.now();
    const st = statSync(file);
    const identity = `${file} ${st.size} ${st.mtimeMs}`;
    if (spec.versionArgs.length === 0) return identity;
    const key = `${file} ${spec.versionArgs.join(' ')}`;
    const rec = this.cache.get(key);
    if (rec !== undefined && rec[0] === st.mtimeMs && rec[1] === st.size && rec[2] === st.ino)
      return rec[3];
    // stdout and stderr lines in arrival order (some tools print their version on stderr).
    const lines: string[] = [];
    await runCommand([file, ...spec.versionArgs], {
      cwd: process.cwd(),
      signal: new AbortController().signal,
      reject: false,
      timeoutMs: VERSION_TIMEOUT_MS,
      onLine: (_stream, line) => lines.push(line),
    }).catch(() => undefined);
    const text = lines.slice(0, 3).join('\n').trim();
    const version = text !== '' ? text : identity;
    // A binary changed within the margin: its version is asked again next run.
    if (Math.max(st.mtimeMs, st.ctimeMs) < clock - RACY_MS) {
      this.cache.set(key, [st.mtimeMs, st.size, st.ino, version]);
      this.cacheChanged = true;
    }
    return version;
  }
}
