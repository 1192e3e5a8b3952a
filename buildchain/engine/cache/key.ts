/**
 * Cache keys: a task's fingerprint made machine-independent, so that two clones in different
 * directories (or on different runners) compute the same key for the same inputs. The key
 * covers what the local fingerprint covers (engine/evaluate.ts): the action definitions and
 * the code of function actions, the targets, the `config` value, declared env values, tool
 * versions, file-dep contents, the keys of fingerprint dependencies and the task's own
 * `cacheable.keyInputs` (what it reads beyond its declared inputs); but every path is
 * written relative to the repository (`$ROOT`) or to BUILD_ROOT (`$BUILD_ROOT`), and code is
 * hashed by relative module path. A key whose material still names this machine (the home
 * directory, the host name) is refused: such a task is not shared.
 */
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { codeFingerprintsFor } from '../code-fingerprint.ts';
import { definitionJson, fileHashes } from '../evaluate.ts';
import type { FileHasher } from '../fingerprint.ts';
import type { GraphNode, TaskGraph } from '../graph.ts';
import type { Action } from '../task.ts';

/** Bumped when the key material or the artifact format changes (old entries then miss). */
export const CACHE_FORMAT = 2;

/** What computing keys needs from the schedule. */
export interface KeyContext {
  readonly graph: TaskGraph;
  readonly buildRoot: string;
  readonly hasher: FileHasher;
  readonly envValues: Readonly<Record<string, string | undefined>>;
  /** Tool name → version output (as the fingerprint uses them). */
  readonly toolVersions: (node: GraphNode) => Promise<Record<string, string>>;
}

/** A key, or why the task cannot have one on this machine. */
export type KeyResult = { readonly key: string } | { readonly refused: string };

/** Replaces the build root and the repository root (longest first) by placeholders. Pure. */
export function portableText(text: string, root: string, buildRoot: string): string {
  const pairs: [string, string][] = [
    [buildRoot, '$BUILD_ROOT'],
    [root, '$ROOT'],
  ];
  pairs.sort((a, b) => b[0].length - a[0].length);
  let out = text;
  for (const [from, to] of pairs) if (from.length > 1) out = out.split(from).join(to);
  return out;
}

/** What still names this machine in portable key material, or undefined. Pure but for `os`. */
export function machineSpecific(material: string): string | undefined {
  const home = os.homedir();
  // A whole path only: `$BUILD_ROOT/root/...` does not name the home directory /root.
  const homeRe = new RegExp(`(?:^|[^A-Za-z0-9_.$/-])${escapeRe(home)}(?=$|[/"'\\s:,;])`);
  if (home.length > 1 && homeRe.test(material)) return `the home directory ${home}`;
  const host = os.hostname();
  if (
    host.length >= 6 &&
    host !== 'localhost' &&
    new RegExp(`\\b${escapeRe(host)}\\b`).test(material)
  )
    return `the host name ${host}`;
  return undefined;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const PART_NAMES: Readonly<Record<string, string>> = {
  def: 'actions (or targets)',
  config: 'config value',
  env: 'declared env values',
  tools: 'tool versions',
  files: 'file deps',
  inputs: 'key inputs',
};

/**
 * The first non-empty line of each tool's version output: the version itself. The rest may
 * name the machine (`gpg --version` prints its home directory) or its state (`dnf --version`
 * prints install dates), which would keep runners from sharing entries.
 */
export function versionLines(versions: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [tool, text] of Object.entries(versions))
    out[tool] =
      text
        .split('\n')
        .find((l) => l.trim() !== '')
        ?.trim() ?? '';
  return out;
}

/** Computes (and memoizes, per schedule) the portable keys of tasks. */
export class CacheKeys {
  private readonly ctx: KeyContext;
  private readonly memo = new Map<string, Promise<KeyResult>>();

  constructor(ctx: KeyContext) {
    this.ctx = ctx;
  }

  /** The key of `name`; its dependencies' keys are computed as needed (memoized). */
  keyOf(name: string): Promise<KeyResult> {
    let k = this.memo.get(name);
    if (k === undefined) {
      k = this.compute(name);
      this.memo.set(name, k);
    }
    return k;
  }

  /** Forgets a task's key (its inputs were just produced again). */
  forget(name: string): void {
    this.memo.delete(name);
  }

  /** The relative path of a module for code hashes (`$ROOT/...`), or its base name outside. */
  private rel(file: string): string {
    const r = path.relative(this.ctx.graph.root, file);
    return r.startsWith('..') || path.isAbsolute(r) ? `?/${path.basename(file)}` : r;
  }

  private async codeHash(module: string): Promise<string> {
    const code = codeFingerprintsFor(this.ctx.hasher);
    const parts: string[] = [];
    for (const f of code.closureOf(module))
      parts.push(`${this.rel(f)} ${(await this.ctx.hasher.hash(f)) ?? ''}`);
    return createHash('sha256').update(parts.join('\n')).digest('base64url').slice(0, 22);
  }

  private async compute(name: string): Promise<KeyResult> {
    const { graph, buildRoot, envValues } = this.ctx;
    const node = graph.get(name);
    const root = graph.root;
    const codes = new Map<string, string>();
    const def = node.def;
    const clean: readonly Action[] = Array.isArray(def.clean)
      ? (def.clean as readonly Action[])
      : [];
    for (const a of [...(def.actions ?? []), ...clean]) {
      const m = a.kind === 'function' ? a.module : undefined;
      if (m !== undefined && !codes.has(m)) codes.set(m, await this.codeHash(m));
    }
    const files: Record<string, string> = {};
    for (const [f, h] of Object.entries(await fileHashes(this.ctx.hasher, node.fileDeps)))
      files[portableText(f, root, buildRoot)] = h;
    const env: Record<string, string> = {};
    for (const k of def.envKeys ?? []) env[k] = envValues[k] ?? '';
    const deps: Record<string, string> = {};
    for (const d of node.fingerprintDeps) {
      const k = await this.keyOf(d);
      if ('refused' in k) return { refused: `its dependency ${d}: ${k.refused}` };
      deps[d] = k.key;
    }
    const spec = typeof def.cacheable === 'object' ? def.cacheable : undefined;
    const inputs = spec?.keyInputs === undefined ? null : await spec.keyInputs();
    const parts: Record<string, unknown> = {
      format: CACHE_FORMAT,
      task: name,
      def: definitionJson(node, (m) => codes.get(m)),
      config: def.config ?? null,
      env,
      tools: versionLines(await this.ctx.toolVersions(node)),
      files,
      deps,
      inputs,
    };
    const portable: string[] = [];
    for (const [part, value] of Object.entries(parts)) {
      const text = portableText(JSON.stringify(value), root, buildRoot);
      const specific = machineSpecific(text);
      if (specific !== undefined)
        return { refused: `its ${PART_NAMES[part] ?? part} name ${specific}` };
      portable.push(`${part}=${text}`);
    }
    return { key: createHash('sha256').update(portable.join('\n')).digest('hex') };
  }
}
