/** Solution problems are the shared problem model (lib/problem.ts) under their JSON names. */
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../buildchain/lib/problem.ts';
import {
  error,
  formatProblems,
  hasErrors,
  toSharedProblem,
  warning,
} from '../../buildchain/tasks/solution/lint/problems.ts';

describe('Solution problems in the shared model', () => {
  const e = error('image-tag', 'solution.yaml', 'image app:1: bad tag', 'use a valid tag');
  const w = warning('unused-file', '', 'nothing uses it', 'remove it');

  it('maps code to kind and file to subject, keeping severity, message and fix', () => {
    expect(toSharedProblem(e)).toEqual({
      kind: 'image-tag',
      subject: 'solution.yaml',
      message: 'image app:1: bad tag',
      fix: 'use a valid tag',
      severity: 'error',
    });
    expect(formatProblem(toSharedProblem(w), { style: 'severity-kind', emptySubject: '.' })).toBe(
      '.: warning [unused-file] nothing uses it\n  fix: remove it',
    );
  });

  it('renders two lines per problem, `.` for a problem about no file (the format lint has always printed)', () => {
    expect(formatProblems([e, w])).toBe(
      'solution.yaml: error [image-tag] image app:1: bad tag\n  fix: use a valid tag\n' +
        '.: warning [unused-file] nothing uses it\n  fix: remove it',
    );
  });

  it('fails only on errors', () => {
    expect(hasErrors([w])).toBe(false);
    expect(hasErrors([w, e])).toBe(true);
  });
});
