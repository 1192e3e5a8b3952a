/**
 * The one problem model: what every checker (lint, Solution lint, verify, settings, task
 * definitions) and every failure reports, and what the reporters render (console) or carry
 * as-is (JSON events). Pure: no disk, no processes; imports nothing from the project.
 */

/** How bad a problem is: an `error` fails the check (or the command); a `warning` never does. */
export type ProblemSeverity = 'error' | 'warning';

/** One problem: what kind, about what, what is wrong, and how to fix it. */
export interface Problem {
  /** Kebab-case identifier tests and scripts may match on, e.g. `unknown-key`, `shellcheck`, `digest-mismatch`. */
  readonly kind: string;
  /**
   * What the problem is about: a file with an optional position (`images/images.yaml:12`,
   * `.env:3`), a setting, an image, a task. `''` when it is about nothing in particular.
   */
  readonly subject: string;
  /** What is wrong, one sentence without the subject. */
  readonly message: string;
  /** How to fix it, when known. */
  readonly fix?: string;
  readonly severity: ProblemSeverity;
  /** The checker's own rule id (`SC2086`, `trailing-spaces`, `TS2322`), when it has one. */
  readonly rule?: string;
}

/** The optional parts of a {@link Problem} (severity defaults to `error`). */
export interface ProblemDetails {
  readonly fix?: string | undefined;
  readonly severity?: ProblemSeverity;
  readonly rule?: string | undefined;
}

const KEBAB = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** True when `kind` is kebab-case (`unknown-key`), the only form a problem kind takes. */
export function isProblemKind(kind: string): boolean {
  return KEBAB.test(kind);
}

/**
 * Builds a problem; absent details are left out (so that JSON carries no `undefined` keys).
 * Throws when `kind` is not kebab-case: a programming mistake, never a user's.
 */
export function problem(
  kind: string,
  subject: string,
  message: string,
  details: ProblemDetails = {},
): Problem {
  if (!isProblemKind(kind))
    throw new Error(`problem kind ${JSON.stringify(kind)} is not kebab-case`);
  return {
    kind,
    subject,
    message,
    severity: details.severity ?? 'error',
    ...(details.fix === undefined ? {} : { fix: details.fix }),
    ...(details.rule === undefined ? {} : { rule: details.rule }),
  };
}

/** `path:line[:col]: ` at the start of a message: the file position it is about. */
const POSITION_AT_START = /^([^\s:][^\s]*?:\d+(?::\d+)?): (?=\S)/;

/**
 * A problem from a message that may start with its subject (`/p/.env:3: unknown key X`):
 * a leading `path:line[:col]: ` becomes the subject, so that {@link formatProblem} renders the
 * same text back; otherwise the subject is `''`.
 */
export function problemFromText(kind: string, text: string, details: ProblemDetails = {}): Problem {
  const m = POSITION_AT_START.exec(text);
  if (m?.[1] === undefined) return problem(kind, '', text, details);
  return problem(kind, m[1], text.slice(m[0].length), details);
}

/**
 * What precedes the message on a problem's first line:
 * - `plain`: `subject: message` (settings, definition errors, verify, task failures);
 * - `severity`: `subject: error: message [rule]` (lint findings, the format editors and CI annotate from);
 * - `severity-kind`: `subject: error [kind] message` (Solution lint and verify).
 */
export type ProblemStyle = 'plain' | 'severity' | 'severity-kind';

/** Options of {@link formatProblem}. */
export interface FormatProblemOptions {
  readonly style?: ProblemStyle;
  /** Subject shown when it is `''` (default: none, the line starts with the message). */
  readonly emptySubject?: string;
  /** Prefix of the fix line (default `  fix: `); `undefined` fix prints no second line. */
  readonly fixPrefix?: string;
}

/** The first line of a problem (see {@link ProblemStyle}), without its fix. */
export function formatProblemLine(p: Problem, opts: FormatProblemOptions = {}): string {
  const subject = p.subject === '' ? (opts.emptySubject ?? '') : p.subject;
  const lead = subject === '' ? '' : `${subject}: `;
  switch (opts.style ?? 'plain') {
    case 'plain':
      return `${lead}${p.message}`;
    case 'severity':
      return `${lead}${p.severity}: ${p.message}${p.rule === undefined ? '' : ` [${p.rule}]`}`;
    case 'severity-kind':
      return `${lead}${p.severity} [${p.kind}] ${p.message}`;
  }
}

/** The one renderer: the problem's line, then `  fix: …` when it has a fix. */
export function formatProblem(p: Problem, opts: FormatProblemOptions = {}): string {
  const line = formatProblemLine(p, opts);
  return p.fix === undefined ? line : `${line}\n${opts.fixPrefix ?? '  fix: '}${p.fix}`;
}

/** Every problem rendered by {@link formatProblem}, one after the other. */
export function formatProblems(
  problems: readonly Problem[],
  opts: FormatProblemOptions = {},
): string {
  return problems.map((p) => formatProblem(p, opts)).join('\n');
}

/** True when at least one problem is an error (warnings never fail). */
export function hasErrorProblems(problems: readonly Problem[]): boolean {
  return problems.some((p) => p.severity === 'error');
}

/** `n error(s), m warning(s)` counts of a list of problems. */
export function countProblems(problems: readonly Problem[]): { errors: number; warnings: number } {
  const errors = problems.filter((p) => p.severity === 'error').length;
  return { errors, warnings: problems.length - errors };
}
