/**
 * The version of a locally built package, read from its spec without running rpm (versions.json
 * is written while the RPMs may not be built yet): `Version:` and `Release:` with the macros the
 * build defines (`dist`, `short_version`) and the spec's own `%global`/`%define` lines, including
 * the `%{!?name: %global name value}` default idiom. A spec using anything else there (a shell
 * expansion, a Lua macro) is refused with a hint to pin the version in the package list.
 */
import { TaskError } from '../../engine/task.ts';

/** `version` and `release` of a spec, macros expanded. */
export interface SpecVersion {
  readonly version: string;
  readonly release: string;
}

const DEFINE = /^\s*%(?:global|define)\s+([A-Za-z_]\w*)\s+(.*?)\s*$/;
const DEFAULT = /^\s*%\{!\?([A-Za-z_]\w*):\s*%(?:global|define)\s+\1\s+(.*?)\s*\}\s*$/;

function expand(text: string, macros: ReadonlyMap<string, string>): string {
  let out = text;
  for (let i = 0; i < 10; i++) {
    const next = out
      .replace(/%\{(!?)\?([A-Za-z_]\w*)(?::([^{}]*))?\}/g, (_m, not: string, name: string, alt) => {
        const defined = macros.has(name);
        if (alt === undefined) return not === '' ? (macros.get(name) ?? '') : '';
        return (not === '') === defined ? String(alt) : '';
      })
      .replace(/%\{([A-Za-z_]\w*)\}/g, (m, name: string) => macros.get(name) ?? m)
      .replace(/%([A-Za-z_]\w*)/g, (m, name: string) => macros.get(name) ?? m);
    if (next === out) break;
    out = next;
  }
  return out;
}

/**
 * Version and release of `specText` with `defines` (as `rpmbuild --define`). `where` names the
 * spec in errors.
 */
export function specVersion(
  specText: string,
  defines: Readonly<Record<string, string>>,
  where: string,
): SpecVersion {
  const macros = new Map<string, string>(Object.entries(defines));
  const tags = new Map<string, string>();
  for (const line of specText.split('\n')) {
    if (/^\s*%(description|prep|build|install|files|changelog|package)\b/.test(line)) break;
    const def = DEFAULT.exec(line);
    if (def?.[1] !== undefined) {
      if (!macros.has(def[1])) macros.set(def[1], expand(def[2] ?? '', macros));
      continue;
    }
    const d = DEFINE.exec(line);
    if (d?.[1] !== undefined) {
      macros.set(d[1], expand(d[2] ?? '', macros));
      continue;
    }
    const tag = /^(Name|Version|Release|Epoch):\s*(.*?)\s*$/i.exec(line);
    if (tag?.[1] !== undefined) {
      const value = expand(tag[2] ?? '', macros);
      tags.set(tag[1].toLowerCase(), value);
      macros.set(tag[1].toLowerCase(), value);
    }
  }
  const field = (name: 'version' | 'release'): string => {
    const v = tags.get(name);
    if (v === undefined || v === '' || v.includes('%') || /\s/.test(v))
      throw new TaskError(
        'invalid-input',
        `${where}: cannot read its ${name} (${v ?? 'missing'})`,
        {
          hint: 'Pin version and release of the package in the package list, or use plain macros in the spec.',
        },
      );
    return v;
  };
  return { version: field('version'), release: field('release') };
}
