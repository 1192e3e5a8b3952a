/**
 * `YAML.parse` for the content lists read by every command (images.yaml, packages-specs/*),
 * with a cache of the parsed values keyed by the text's sha256: a command that starts with
 * unchanged lists neither loads the yaml library nor parses (both cost more than the rest of a
 * no-op build). Parsed values are kept for the process and, when running compiled, as JSON
 * under `dist/.cache/yaml/` (rebuilt by `npm ci`; a cache that cannot be written is skipped).
 * A value JSON cannot carry exactly (±Infinity, NaN, `__proto__` keys, ...) is never stored.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from '../fs/atomic-write.ts';
import { DIST_ROOT, requireVendored } from '../package-root.ts';

/** Bump when what is stored changes: older entries are then never read. */
const FORMAT = 1;
const CACHE_DIR = DIST_ROOT === undefined ? undefined : path.join(DIST_ROOT, '.cache', 'yaml');

const memo = new Map<string, string>();
let yamlLib: typeof import('yaml') | undefined;

/** True when `value` survives JSON.stringify/JSON.parse unchanged. */
function isJsonFaithful(value: unknown): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (Array.isArray(value)) return value.every(isJsonFaithful);
  if (typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) return false;
  for (const [k, v] of Object.entries(value as Record<string, unknown>))
    if (k === '__proto__' || !isJsonFaithful(v)) return false;
  return true;
}

function cacheFile(key: string): string | undefined {
  return CACHE_DIR === undefined ? undefined : path.join(CACHE_DIR, `${key}.json`);
}

/**
 * The value of a YAML document, as `YAML.parse(text)` gives it (a fresh copy on every call);
 * throws the yaml library's error for invalid YAML (nothing is cached then).
 */
export function parseYaml(text: string): unknown {
  const key = `${createHash('sha256').update(text).digest('base64url').slice(0, 32)}-${FORMAT}`;
  let json = memo.get(key);
  const file = cacheFile(key);
  if (json === undefined && file !== undefined) {
    try {
      json = readFileSync(file, 'utf8');
    } catch {
      // not cached yet
    }
  }
  if (json !== undefined) {
    memo.set(key, json);
    return JSON.parse(json) as unknown;
  }
  // Loaded on a cache miss only (synchronously: the content loaders are synchronous).
  yamlLib ??= requireVendored('yaml') as typeof import('yaml');
  const value = yamlLib.parse(text) as unknown;
  if (isJsonFaithful(value)) {
    json = JSON.stringify(value);
    memo.set(key, json);
    if (file !== undefined) {
      try {
        writeFileAtomicSync(file, json, { mkdir: true });
      } catch {
        // A read-only tree: the next command parses again.
      }
    }
  }
  return value;
}
