/**
 * The build cache from the command line: opening it for a build (BUILD_CACHE, credentials
 * from REGISTRY_AUTH_FILE), and the maintainers' commands
 * `npm run build -- cache status` and `npm run build -- cache prune --older-than D [--dry-run]`.
 */
import type { BuildConfig } from '../config/config.ts';
import type { BuildCacheSettings } from '../config/build-cache.ts';
import { registryAuthFile } from '../config/mirrors.ts';
import { BuildCache, type CacheEntryInfo } from '../engine/cache/build-cache.ts';
import { UsageError } from '../engine/failures.ts';
import { TaskError } from '../engine/task.ts';
import { findCredentials } from '../tasks/images/registry-auth.ts';
import { findRoot, loadConfig } from './context.ts';
import { usageErrorText } from './settings.ts';

/** The cache of BUILD_CACHE (credentials looked up in REGISTRY_AUTH_FILE when asked). */
export function openBuildCache(
  s: BuildCacheSettings,
  authFile: string | undefined,
  signal?: AbortSignal,
): BuildCache {
  return new BuildCache(
    {
      host: s.host,
      repository: s.repository,
      mode: s.mode,
      insecure: s.insecure,
      credentials: () => findCredentials(s.host, authFile),
    },
    signal,
  );
}

/** The cache of a configuration, or undefined without BUILD_CACHE. */
export function buildCacheOf(config: BuildConfig, signal?: AbortSignal): BuildCache | undefined {
  const s = config.settings.buildCache;
  return s === undefined
    ? undefined
    : openBuildCache(s, registryAuthFile(config.root, config.settings.mirrors), signal);
}

/** Options of the build command line taking a value (skipped when looking for `cache`). */
const VALUED = new Set(['--reporter', '--json-log', '--tasks-module', '-n', '--workers']);

/**
 * The arguments after `cache` when it is the command (the first word that is not an option or
 * an option's value), else undefined. Pure.
 */
export function cacheCommandArgs(argv: readonly string[]): string[] | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (VALUED.has(a)) i++;
    else if (!a.startsWith('-')) return a === 'cache' ? argv.slice(i + 1) : undefined;
  }
  return undefined;
}

const UNITS: Readonly<Record<string, number>> = { m: 60, h: 3600, d: 86400, w: 604800 };

/** `30m`, `12h`, `7d`, `2w` → milliseconds; undefined when malformed. Pure. */
export function parseAge(text: string): number | undefined {
  const m = /^(\d+)([mhdw])$/.exec(text.trim());
  if (m?.[1] === undefined || m[2] === undefined) return undefined;
  const n = Number(m[1]);
  return n > 0 ? n * (UNITS[m[2]] ?? 0) * 1000 : undefined;
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

function day(d: Date | undefined): string {
  return d === undefined ? 'unknown' : d.toISOString().replace(/\.\d+Z$/, 'Z');
}

function summary(entries: readonly CacheEntryInfo[], kind: 'task' | 'blob'): string {
  const of = entries.filter((e) => e.kind === kind);
  const bytes = of.reduce((s, e) => s + e.bytes, 0);
  return `${of.length} entries, ${mb(bytes)}`;
}

const USAGE =
  'usage: npm run build -- cache status | cache prune --older-than D [--dry-run]  (D: 30m, 12h, 7d, 2w)';

interface CacheArgs {
  readonly sub: 'status' | 'prune';
  readonly olderThanMs?: number;
  readonly dryRun: boolean;
}

/** Parses the arguments after `cache` (pure); throws UsageError. */
export function parseCacheArgs(argv: readonly string[]): CacheArgs {
  const [sub, ...rest] = argv;
  if (sub !== 'status' && sub !== 'prune')
    throw new UsageError(
      'usage',
      sub === undefined ? 'cache needs a subcommand' : `unknown cache subcommand ${sub}`,
      USAGE,
    );
  let olderThanMs: number | undefined;
  let dryRun = false;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i] ?? '';
    if (sub === 'prune' && (a === '--older-than' || a.startsWith('--older-than='))) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : rest[++i];
      olderThanMs = v === undefined ? undefined : parseAge(v);
      if (olderThanMs === undefined)
        throw new UsageError(
          'usage',
          `--older-than needs an age like 30m, 12h, 7d or 2w, got ${JSON.stringify(v ?? '')}`,
          USAGE,
        );
    } else if (sub === 'prune' && (a === '--dry-run' || a === '-n')) dryRun = true;
    else throw new UsageError('usage', `unknown argument for cache ${sub}: ${a}`, USAGE);
  }
  if (sub === 'prune' && olderThanMs === undefined)
    throw new UsageError(
      'usage',
      'cache prune needs --older-than D',
      'e.g. npm run build -- cache prune --older-than 14d',
    );
  return { sub, ...(olderThanMs === undefined ? {} : { olderThanMs }), dryRun };
}

/**
 * `cache status|prune`: exit 0, 1 when the registry failed (unreachable, refused), 2 for a
 * usage or setting mistake (nothing asked of the registry).
 */
export async function cacheCommand(
  argv: readonly string[],
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  err: (text: string) => void = (t) => process.stderr.write(`${t}\n`),
): Promise<number> {
  let args: CacheArgs;
  let cache: BuildCache;
  try {
    args = parseCacheArgs(argv);
    const config = loadConfig(findRoot());
    const c = buildCacheOf(config);
    if (c === undefined)
      throw new UsageError(
        'invalid-env',
        `cache ${args.sub}: BUILD_CACHE is not set`,
        'set BUILD_CACHE=oci://HOST[:PORT]/REPO in .env or the environment (docs/cache.md)',
      );
    if (args.sub === 'prune' && !c.writable && !args.dryRun)
      throw new UsageError(
        'invalid-env',
        `cache prune deletes entries of ${c.url}, but BUILD_CACHE_MODE is read`,
        'run it with BUILD_CACHE_MODE=readwrite (and credentials allowed to delete), or add --dry-run',
      );
    cache = c;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err(usageErrorText(e));
    return 2;
  }
  try {
    if (args.sub === 'status') {
      const entries = await cache.entries();
      const dates = entries.flatMap((e) => (e.created === undefined ? [] : [e.created.getTime()]));
      out(`cache ${cache.url} (mode ${cache.mode})`);
      out(`task outputs: ${summary(entries, 'task')}`);
      out(`blobs:        ${summary(entries, 'blob')}`);
      if (dates.length > 0)
        out(
          `oldest ${day(new Date(Math.min(...dates)))}, newest ${day(new Date(Math.max(...dates)))}`,
        );
      return 0;
    }
    const before = new Date(Date.now() - (args.olderThanMs ?? 0));
    const old = await cache.prune(before, args.dryRun);
    const verb = args.dryRun ? 'would remove' : 'removed';
    for (const e of old)
      out(
        `${verb} ${e.tag.slice(0, 17)}… ${e.task ?? e.kind} (${mb(e.bytes)}, created ${day(e.created)})`,
      );
    out(
      `${args.dryRun ? 'would prune' : 'pruned'} ${old.length} entries created before ${day(before)}` +
        (old.length > 0 && !args.dryRun
          ? "; the registry's garbage collection frees their space (docs/cache.md)"
          : ''),
    );
    return 0;
  } catch (e) {
    if (!(e instanceof TaskError)) throw e;
    err(usageErrorText(e));
    return 1;
  }
}
