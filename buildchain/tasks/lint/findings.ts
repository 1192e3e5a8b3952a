/**
 * Lint findings: what every lint subtask reports, one per problem, as `file:line:col: message`.
 * A finding is the parsed record (kept as stored in the result files); it is reported as a
 * {@link Problem} (lib/problem.ts) through {@link findingProblem}. Pure: no disk, no processes.
 */
import {
  formatProblemLine,
  hasErrorProblems,
  problem,
  type Problem,
  type ProblemSeverity,
} from '../../lib/problem.ts';

/** How bad a finding is; `warning` never fails a subtask, `error` does. */
export type LintSeverity = ProblemSeverity;

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

/** The problem kind of each subtask's findings: the checker that found them. */
const KIND_OF_SUBTASK: Readonly<Record<string, string>> = {
  shell: 'shellcheck',
  yaml: 'yamllint',
  content: 'content-check',
  ts: 'typescript',
};

/** `file[:line[:col]]`, the subject of a finding. */
function findingSubject(f: LintFinding): string {
  let where = f.file;
  if (f.line !== undefined) where += `:${f.line}`;
  if (f.line !== undefined && f.column !== undefined) where += `:${f.column}`;
  return where;
}

/**
 * A finding as a problem: kind = the checker of `subtask` (`shellcheck`, `yamllint`,
 * `content-check`, `typescript`; `lint-<subtask>` otherwise), subject = `file:line:col`, the
 * tool's rule id kept as `rule`.
 */
export function findingProblem(f: LintFinding, subtask = ''): Problem {
  const kind =
    KIND_OF_SUBTASK[subtask] ??
    (subtask === '' ? 'lint' : `lint-${subtask.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`);
  return problem(kind, findingSubject(f), f.message, { severity: f.severity, rule: f.rule });
}

/** `file:line:col: severity: message [rule]`, the format editors and CI annotate from. */
export function formatFinding(f: LintFinding): string {
  return formatProblemLine(findingProblem(f), { style: 'severity' });
}

/** True when the result holds at least one error (warnings do not fail). */
export function hasErrors(result: LintResult): boolean {
  return hasErrorProblems(result.findings.map((f) => findingProblem(f, result.subtask)));
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
