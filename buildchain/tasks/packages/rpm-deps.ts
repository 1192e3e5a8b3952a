/**
 * The dependencies of built RPMs: read with `rpm -qp` into each package's manifest, so that the
 * download resolves what the local packages require (metalk8s-sosreport needs `sos >= 3.5` and
 * `python(abi) = 2.7`) as a node's yum would, and the lock knows when they change.
 */
import type { Exec } from '../../engine/exec/run-command.ts';

/** What one RPM provides and requires, each `name` or `name OP version`. */
export interface RpmDeps {
  readonly requires: readonly string[];
  readonly provides: readonly string[];
}

/** rpm query format: one `R\t<dep>` or `P\t<dep>` line per dependency. */
const DEPS_QUERY =
  '[R\\t%{REQUIRENAME} %{REQUIREFLAGS:depflags} %{REQUIREVERSION}\\n][P\\t%{PROVIDENAME} %{PROVIDEFLAGS:depflags} %{PROVIDEVERSION}\\n]';

/** argv of `rpm -qp` printing the dependencies of `file`. */
export function rpmDepsArgs(rpmBin: string, file: string): string[] {
  return [rpmBin, '-qp', '--qf', DEPS_QUERY, file];
}

/** Parses the output of {@link rpmDepsArgs}; `rpmlib(...)` requirements (rpm's own) are left out. */
export function parseRpmDeps(stdout: string): RpmDeps {
  const requires = new Set<string>();
  const provides = new Set<string>();
  for (const line of stdout.split('\n')) {
    const m = /^([RP])\t(.*)$/.exec(line);
    if (m?.[2] === undefined) continue;
    const dep = m[2].trim().replace(/\s+/g, ' ');
    if (dep === '' || dep.startsWith('rpmlib(')) continue;
    (m[1] === 'R' ? requires : provides).add(dep);
  }
  return { requires: [...requires].sort(), provides: [...provides].sort() };
}

/** Reads the dependencies of one RPM file. */
export async function readRpmDeps(exec: Exec, rpmBin: string, file: string): Promise<RpmDeps> {
  const r = await exec(rpmDepsArgs(rpmBin, file), { env: { LC_ALL: 'C' } });
  return parseRpmDeps(r.stdout);
}

/** `name` of `name OP version`. */
export function depName(dep: string): string {
  return dep.split(' ')[0] ?? dep;
}

/** `<rpm dir>/<pkg>.deps.json`: what a built package's RPMs require, and the names they provide. */
export interface PackageDeps {
  readonly package: string;
  readonly requires: readonly string[];
  /** Names only: a new version of the package alone does not change the file. */
  readonly provides: readonly string[];
}

/** Text of the deps file of package `name` built as RPMs with `deps`. */
export function serializePackageDeps(name: string, deps: readonly RpmDeps[]): string {
  const doc: PackageDeps = {
    package: name,
    requires: [...new Set(deps.flatMap((d) => d.requires))].sort(),
    provides: [...new Set(deps.flatMap((d) => d.provides.map(depName)))].sort(),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** One built package's RPMs and what they need from the repos. */
export interface LocalRequirement {
  /** Built package (spec) name. */
  readonly pkg: string;
  /** Requirement as rpm writes it. */
  readonly requires: string;
}

/**
 * The requirements of locally built RPMs that the downloads must satisfy: every requirement
 * whose name no built RPM provides, with the packages needing it; sorted, unique.
 */
export function externalRequirements(built: readonly PackageDeps[]): LocalRequirement[] {
  const provided = new Set(built.flatMap((b) => b.provides.map(depName)));
  const out = new Map<string, LocalRequirement>();
  for (const b of built) {
    for (const r of b.requires) {
      if (provided.has(depName(r))) continue;
      out.set(`${r}\0${b.package}`, { pkg: b.package, requires: r });
    }
  }
  // Code-unit order, not localeCompare: its first call loads ICU's collation (about 10 ms),
  // and this runs in the downloads' up-to-date check on every no-op build.
  const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return [...out.values()].sort((a, b) =>
    a.requires === b.requires ? byCodeUnit(a.pkg, b.pkg) : byCodeUnit(a.requires, b.requires),
  );
}
