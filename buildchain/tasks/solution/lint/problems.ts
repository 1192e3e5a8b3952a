/**
 * Problems found by `lint` and `verify`: values, never exceptions, so that every problem of a
 * Solution is reported at once. They are the shared problem model (lib/problem.ts) under the
 * names the Solution's JSON output has always used: `code` is the kind, `file` the subject
 * ({@link toSharedProblem}); the shared renderer prints them.
 */
import {
  formatProblems as formatSharedProblems,
  hasErrorProblems,
  type Problem as SharedProblem,
} from '../../../lib/problem.ts';

/** Stable identifiers of the checks; tests and scripts may match on them. */
export type ProblemCode =
  | 'config-missing'
  | 'config-invalid'
  | 'name-format'
  | 'version-semver'
  | 'env-name'
  | 'require-metalk8s-range'
  | 'layout-version'
  | 'volume-id-too-long'
  | 'iso-name-too-long'
  | 'yaml-invalid'
  | 'operator-file-missing'
  | 'operator-kind'
  | 'ui-kind'
  | 'ui-file-missing'
  | 'ui-service-selector'
  | 'ui-jinja'
  | 'crd-misnamed'
  | 'not-applied'
  | 'image-not-packaged'
  | 'image-unreferenced'
  | 'image-external'
  | 'image-prefix-missing'
  | 'image-ref-invalid'
  | 'image-name'
  | 'image-tag'
  | 'image-digest'
  | 'image-unpinned'
  | 'image-duplicate'
  | 'image-source'
  | 'image-context'
  | 'symlink-escape'
  | 'path-traversal'
  | 'unreadable-file'
  | 'dropped-file'
  | 'unused-file'
  | 'host-file'
  | 'host-file-not-allowed'
  // verify only
  | 'iso-unreadable'
  | 'iso-format'
  | 'volume-id-mismatch'
  | 'product-missing'
  | 'manifest-missing'
  | 'manifest-invalid'
  | 'blob-missing'
  | 'blob-digest-mismatch'
  | 'blob-size-mismatch'
  | 'registry-config-missing'
  | 'registry-config-mismatch'
  | 'registry-config-legacy'
  | 'layout-unexpected'
  | 'sha256sum-missing'
  | 'sha256sum-mismatch'
  // platforms and signatures (build, verify)
  | 'image-platforms'
  | 'image-auto'
  | 'platform-missing'
  | 'signature-missing'
  | 'signature-invalid'
  | 'signature-unchecked';

/** One problem: where, what, and how to fix it. */
export interface Problem {
  readonly severity: 'error' | 'warning';
  readonly code: ProblemCode;
  /** Path relative to the Solution directory (lint) or the ISO root (verify); '' for global. */
  readonly file: string;
  readonly message: string;
  readonly fix: string;
}

export function error(code: ProblemCode, file: string, message: string, fix: string): Problem {
  return { severity: 'error', code, file, message, fix };
}

export function warning(code: ProblemCode, file: string, message: string, fix: string): Problem {
  return { severity: 'warning', code, file, message, fix };
}

/** The same problem in the shared model: kind = code, subject = file. */
export function toSharedProblem(p: Problem): SharedProblem {
  return { kind: p.code, subject: p.file, message: p.message, fix: p.fix, severity: p.severity };
}

export function hasErrors(problems: readonly Problem[]): boolean {
  return hasErrorProblems(problems.map(toSharedProblem));
}

/** Two lines per problem: `file: severity [code] message` then `  fix: ...` (`.` for no file). */
export function formatProblems(problems: readonly Problem[]): string {
  return formatSharedProblems(problems.map(toSharedProblem), {
    style: 'severity-kind',
    emptySubject: '.',
  });
}
