/**
 * Lint findings: what every lint subtask reports, one per problem, as `file:line:col: message`.
 * Pure: no disk, no processes.
 */

/** How bad a finding is; `warning` never fails a subtask, `error` does. */
export type LintSeverity = 'error' | 'warning';

/** One problem found by a linter (or by the content checks). */
export interface LintFinding {
  /** Path relative to the project root (or absolute when outside it). */
  readonly file: string;
  /** 1-based line, when the tool gives it. */
  readonly line?: number;
  /** 1-based column, when the tool gives it. */
  readonly column?: number;
  readonly severity: LintSeverity;
  /** Tool rule id, e.g. `SC2086`, `trailing-spaces`, `TS2322`, `no-unused-vars`. */
  readonly rule?: string;
  readonly message: string;
}

/** The result of one lint subtask, stored as JSON between the check and the report. */
export interface LintResult {
  /** Subtask, e.g. `shell`, `yaml`, `content`, `ts`. */
  readonly subtask: string;
  /** Number of files examined (0 is suspicious and reported as a warning by the caller). */
  readonly checkedFiles: number;
  readonly findings: readonly LintFinding[];
}

/** `file:line:col: severity: message [rule]`, the format editors and CI annotate from. */
export function formatFinding(f: LintFinding): string {
  let where = f.file;
  if (f.line !== undefined) where += `:${f.line}`;
  if (f.line !== undefined && f.column !== undefined) where += `:${f.column}`;
  const rule = f.rule === undefined ? '' : ` [${f.rule}]`;
  return `${where}: ${f.severity}: ${f.message}${rule}`;
}

/** True when the result holds at least one error (warnings do not fail). */
export function hasErrors(result: LintResult): boolean {
  return result.findings.some((f) => f.severity === 'error');
}

/** Sorts findings by file, line, column, then message, for stable output. */
export function sortFindings(findings: readonly LintFinding[]): LintFinding[] {
  return [...findings].sort(
    (a, b) =>
      a.file.localeCompare(b.file) ||
      (a.line ?? 0) - (b.line ?? 0) ||
      (a.column ?? 0) - (b.column ?? 0) ||
      a.message.localeCompare(b.message),
  );
}

/** One summary line, e.g. `lint:shell: 3 errors, 1 warning in 12 files`. */
export function summarize(result: LintResult): string {
  const errors = result.findings.filter((f) => f.severity === 'error').length;
  const warnings = result.findings.length - errors;
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  return `lint:${result.subtask}: ${plural(errors, 'error')}, ${plural(warnings, 'warning')} in ${plural(result.checkedFiles, 'file')}`;
}
