/**
 * dnf argv for resolving a package list with its dependencies, hermetically: no host repos or
 * config, private cache/log/state dirs, fresh metadata, unavailable repos fatal. Pure.
 */
import path from 'node:path';
import type { PackageSpec } from '../../config/content-types.ts';

/** Options for {@link dnfResolveArgs}. */
export interface DnfResolveOptions {
  readonly bin: string;
  /** Private dir for dnf's cache, logs and state. */
  readonly workDir: string;
  readonly releasever: string;
  /** `--forcearch` (the package list's basearch). */
  readonly basearch?: string;
  /** Repos in order: name and the URL to use (already mapped through the mirror setting). */
  readonly repos: readonly { readonly name: string; readonly url: string }[];
  /** dnf package specs (`name`, `name-version`, `name-version-release`). */
  readonly specs: readonly string[];
}

/** The private dnf.conf (written by the caller with {@link DNF_CONFIG}): not the host's. */
export function dnfConfigPath(workDir: string): string {
  return path.join(workDir, 'dnf.conf');
}

/** Content of the private dnf.conf: no host repos; an unavailable repo is an error. */
export const DNF_CONFIG =
  '[main]\nreposdir=/dev/null\nskip_if_unavailable=False\ngpgcheck=0\nplugins=1\n';

/** Global options making dnf ignore the host's configuration and state. */
export function dnfHermeticArgs(o: Omit<DnfResolveOptions, 'specs'>): string[] {
  const cache = path.join(o.workDir, 'cache');
  return [
    o.bin,
    '-q',
    '-y',
    '--refresh',
    `--releasever=${o.releasever}`,
    ...(o.basearch === undefined ? [] : [`--forcearch=${o.basearch}`]),
    `--config=${dnfConfigPath(o.workDir)}`,
    '--setopt=reposdir=/dev/null',
    '--setopt=skip_if_unavailable=False',
    '--setopt=retries=1',
    `--setopt=cachedir=${cache}`,
    `--setopt=system_cachedir=${cache}`,
    `--setopt=logdir=${path.join(o.workDir, 'log')}`,
    `--setopt=persistdir=${path.join(o.workDir, 'lib')}`,
    ...o.repos.map((r) => `--repofrompath=${r.name},${r.url}`),
    ...o.repos.map((r) => `--repo=${r.name}`),
  ];
}

/** `dnf download --resolve --alldeps --url SPECS`: prints the URL of every needed RPM. */
export function dnfResolveArgs(o: DnfResolveOptions): string[] {
  return [...dnfHermeticArgs(o), 'download', '--resolve', '--alldeps', '--url', ...o.specs];
}

/** The dnf spec of a list entry: `name`, `name-version` or `name-version-release`. */
export function packageSpecString(p: Pick<PackageSpec, 'name' | 'version' | 'release'>): string {
  if (p.version === undefined) return p.name;
  return p.release === undefined ? `${p.name}-${p.version}` : `${p.name}-${p.version}-${p.release}`;
}

/** The URLs printed by {@link dnfResolveArgs}, deduplicated and sorted. */
export function parseDnfUrls(stdout: string): string[] {
  const urls = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^(https?|file|ftp):\/\/\S+\.rpm$/.test(l));
  return [...new Set(urls)].sort();
}

/** What went wrong in a failed dnf resolution, from its stderr. */
export type DnfFailure =
  | { readonly kind: 'repo-unreachable'; readonly repo: string; readonly detail: string }
  | { readonly kind: 'no-package'; readonly names: readonly string[] }
  | { readonly kind: 'unresolvable'; readonly detail: string }
  | { readonly kind: 'other'; readonly detail: string };

export function classifyDnfFailure(stderr: string): DnfFailure {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const meta = /Failed to download metadata for repo '([^']+)'(.*)$/.exec(stderr);
  if (meta?.[1] !== undefined) {
    const detail =
      lines.find((l) => /Curl error|Cannot download|Status code/.test(l)) ?? lines.at(-1) ?? '';
    return { kind: 'repo-unreachable', repo: meta[1], detail };
  }
  const missing = [
    ...stderr.matchAll(/No (?:package|match for argument:?) (.+?)(?: available)?\.?$/gm),
  ]
    .map((m) => m[1] ?? '')
    .filter((n) => n !== '');
  if (missing.length > 0) return { kind: 'no-package', names: [...new Set(missing)] };
  const problem = lines.filter((l) => /nothing provides|conflicts|Problem|cannot install/.test(l));
  if (problem.length > 0) return { kind: 'unresolvable', detail: problem.join('; ') };
  return { kind: 'other', detail: lines.slice(-5).join('; ') };
}
