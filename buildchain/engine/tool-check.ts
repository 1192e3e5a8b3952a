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
import { shellQuote } from '../lib/text/quote.ts';

/** Time limit of a tool's version query (ms). */
const VERSION_TIMEOUT_MS = 15_000;

/** A version command to run, with what its result is recorded against. */
interface VersionQuery {
  readonly file: string;
  readonly args: readonly string[];
  /** The binary's identity (the version of a tool printing none). */
  readonly identity: string;
  /** Key of the persisted version cache. */
  readonly key: string;
  readonly st: {
    readonly mtimeMs: number;
    readonly ctimeMs: number;
    readonly size: number;
    readonly ino: number;
  };
  /** Clock read before the stat (racy rule). */
  readonly clock: number;
}

/** Ends a query's output in the batch's stream (in band: after its last line), then its status. */
const STATUS_MARK = '\u0003rc=';

/**
 * One shell running every query side by side, each's output (stdout and stderr in the order
 * written) on lines prefixed by `<index> `, ended by {@link STATUS_MARK} and its exit status
 * (on the last line when the output lacks a final newline). One fork of this process instead
 * of one per tool (each costs ~7 ms with the build's heap).
 */
function batchScript(queries: readonly VersionQuery[]): string {
  return queries
    .map((q, i) => {
      const cmd = [q.file, ...q.args].map(shellQuote).join(' ');
      return (
        `{ ${cmd} 2>&1 </dev/null; printf '\\003rc=%s\\n' "$?"; } | ` +
        `while IFS= read -r l || [ -n "$l" ]; do printf '${i} %s\\n' "$l"; done &`
      );
    })
    .concat('wait')
    .join('\n');
}

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

  /**
   * Starts reading the versions of `names` not known yet, all with one shell (a fresh runner
   * with the build cache reads a dozen before its first restore): each comes out as
   * {@link versionsOf} would read it alone. A tool that cannot be found is left to it.
   */
  prefetch(names: readonly string[]): void {
    const batch: { name: string; q: VersionQuery }[] = [];
    for (const name of names) {
      if (this.versions.has(name)) continue;
      let q: VersionQuery | string;
      try {
        q = this.query(name);
      } catch {
        continue; // tool-not-found: reported by the task's own check
      }
      if (typeof q === 'string') {
        this.versions.set(name, Promise.resolve(q));
        this.resolved.set(name, q);
      } else batch.push({ name, q });
    }
    if (batch.length === 0) return;
    // Each version settles when its command ends (its status arrives), not with the batch.
    const pending = batch.map(({ name, q }) => {
      const lines: string[] = [];
      let settle: (rc: string | undefined) => void = () => undefined;
      const v = new Promise<string>((resolve) => {
        settle = (rc) => {
          // Not run at all (126, 127: the shell could not execute it): as a spawn error alone.
          const ran = rc !== '126' && rc !== '127';
          const text = this.recordVersion(q, ran ? lines : []);
          this.resolved.set(name, text);
          resolve(text);
        };
      });
      this.versions.set(name, v);
      return { lines, settle, done: false };
    });
    void runCommand(['sh', '-c', batchScript(batch.map((b) => b.q))], {
      cwd: process.cwd(),
      signal: new AbortController().signal,
      reject: false,
      timeoutMs: VERSION_TIMEOUT_MS,
      onLine: (_stream, line) => {
        const space = line.indexOf(' ');
        const p = space > 0 ? pending[Number(line.slice(0, space))] : undefined;
        if (p === undefined || p.done) return;
        const text = line.slice(space + 1);
        const mark = text.indexOf(STATUS_MARK);
        if (mark < 0) {
          p.lines.push(text.replace(/\r$/, ''));
          return;
        }
        if (mark > 0) p.lines.push(text.slice(0, mark).replace(/\r$/, ''));
        p.done = true;
        p.settle(text.slice(mark + STATUS_MARK.length));
      },
    })
      .catch(() => undefined)
      // Killed at the time limit: what each printed so far, as a query alone.
      .then(() => {
        for (const p of pending) if (!p.done) p.settle(undefined);
      });
  }

  /** The version of `name` known without running anything, or the query to run. */
  private query(name: string): VersionQuery | string {
    const { spec, file } = this.resolve(name);
    const clock = Date.now();
    const st = statSync(file);
    const identity = `${file} ${st.size} ${st.mtimeMs}`;
    if (spec.versionArgs.length === 0) return identity;
    const key = `${file} ${spec.versionArgs.join(' ')}`;
    const rec = this.cache.get(key);
    if (rec !== undefined && rec[0] === st.mtimeMs && rec[1] === st.size && rec[2] === st.ino)
      return rec[3];
    return { file, args: spec.versionArgs, identity, key, st, clock };
  }

  /** The version text of a query's output lines (its first three), cached when not racy. */
  private recordVersion(q: VersionQuery, lines: readonly string[]): string {
    const text = lines.slice(0, 3).join('\n').trim();
    const version = text !== '' ? text : q.identity;
    // A binary changed within the margin: its version is asked again next run.
    if (Math.max(q.st.mtimeMs, q.st.ctimeMs) < q.clock - RACY_MS) {
      this.cache.set(q.key, [q.st.mtimeMs, q.st.size, q.st.ino, version]);
      this.cacheChanged = true;
    }
    return version;
  }

  private async readVersion(name: string): Promise<string> {
    const q = this.query(name);
    if (typeof q === 'string') return q;
    // stdout and stderr lines in arrival order (some tools print their version on stderr).
    const lines: string[] = [];
    await runCommand([q.file, ...q.args], {
      cwd: process.cwd(),
      signal: new AbortController().signal,
      reject: false,
      timeoutMs: VERSION_TIMEOUT_MS,
      onLine: (_stream, line) => lines.push(line),
    }).catch(() => undefined);
    return this.recordVersion(q, lines);
  }
}
