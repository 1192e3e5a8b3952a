/**
 * Checks of the package specs and the shipped Salt file list (lint:content). Pure.
 */
import type { PackageSpec } from '../../config/content-types.ts';
import type { LintFinding } from './findings.ts';

/** A spec file found under `packages-specs/`. */
export interface SpecFile {
  /** Package (directory) name: `packages-specs/<name>/...`. */
  readonly name: string;
  /** Path relative to the project root. */
  readonly path: string;
}

/**
 * Every spec is referenced by a built package of some list, and every built package has a
 * spec. `listFile` is where built packages are declared, for the message.
 */
export function checkSpecReferences(
  specs: readonly SpecFile[],
  builtPackages: readonly PackageSpec[],
  listFile: string,
): LintFinding[] {
  const findings: LintFinding[] = [];
  const built = new Set(builtPackages.filter((p) => p.built).map((p) => p.name));
  const specNames = new Set(specs.map((s) => s.name));
  for (const spec of specs) {
    if (!built.has(spec.name)) {
      findings.push({
        file: spec.path,
        severity: 'error',
        rule: 'spec-unreferenced',
        message: `spec "${spec.name}" is not referenced by any built package in ${listFile}`,
      });
    }
  }
  for (const name of [...built].sort()) {
    if (!specNames.has(name)) {
      findings.push({
        file: listFile,
        severity: 'error',
        rule: 'spec-missing',
        message: `built package "${name}" has no spec under packages-specs/${name}/`,
      });
    }
  }
  return findings;
}

const RPMSPEC_ERROR = /^error: (?:line (\d+): )?(.*)$/;

/** Findings from a failed `rpmspec -P` (its stderr), attributed to the spec file. */
export function parseRpmspecErrors(stderr: string, specPath: string): LintFinding[] {
  const findings: LintFinding[] = [];
  for (const raw of stderr.split('\n')) {
    const m = RPMSPEC_ERROR.exec(raw.trim());
    if (m === null) continue;
    const [, ln, message = ''] = m;
    findings.push({
      file: specPath,
      ...(ln === undefined ? {} : { line: Number(ln) }),
      severity: 'error',
      rule: 'rpmspec',
      message,
    });
  }
  if (findings.length === 0) {
    const tail = stderr.trim().split('\n').slice(-3).join(' | ');
    findings.push({
      file: specPath,
      severity: 'error',
      rule: 'rpmspec',
      message: `rpmspec -P failed: ${tail || '(no output)'}`,
    });
  }
  return findings;
}

/** Options for {@link compareFileList}. */
export interface FileListCheckOptions {
  /** The list's file (relative), for findings. */
  readonly listFile: string;
  /** Files the list ships (relative to the tree root, e.g. `salt/metalk8s/foo.sls`). */
  readonly listed: readonly string[];
  /** Files present in the tree (same form). */
  readonly present: readonly string[];
  /** Files deliberately not shipped as-is (rendered templates, READMEs), with the reason. */
  readonly exempt: (file: string) => string | undefined;
  /** Line of each listed file in the list file, when known. */
  readonly lines?: ReadonlyMap<string, number>;
}

/** Nothing present but unshipped, nothing listed but missing. */
export function compareFileList(opts: FileListCheckOptions): LintFinding[] {
  const findings: LintFinding[] = [];
  const listed = new Set(opts.listed);
  const present = new Set(opts.present);
  for (const file of [...present].sort()) {
    if (listed.has(file) || opts.exempt(file) !== undefined) continue;
    findings.push({
      file,
      severity: 'error',
      rule: 'salt-unshipped',
      message: `present in the tree but not in the shipped file list ${opts.listFile}`,
    });
  }
  for (const file of [...listed].sort()) {
    if (present.has(file)) continue;
    const line = opts.lines?.get(file);
    findings.push({
      file: opts.listFile,
      ...(line === undefined ? {} : { line }),
      severity: 'error',
      rule: 'salt-missing',
      message: `lists "${file}", which does not exist`,
    });
  }
  return findings;
}
