import { describe, expect, it } from 'vitest';
import {
  countProblems,
  formatProblem,
  formatProblems,
  hasErrorProblems,
  isProblemKind,
  problem,
} from '../../buildchain/lib/problem.ts';

describe('problem model', () => {
  it('builds a problem, defaulting to an error and leaving absent details out', () => {
    const p = problem('unknown-key', '.env:3', 'FOO is not a known setting');
    expect(p).toEqual({ kind: 'unknown-key', subject: '.env:3', message: 'FOO is not a known setting', severity: 'error' });
    expect(Object.keys(p)).not.toContain('fix');
    expect(JSON.parse(JSON.stringify(p))).toEqual(p);
  });

  it('refuses a kind that is not kebab-case', () => {
    expect(isProblemKind('digest-mismatch')).toBe(true);
    expect(isProblemKind('DigestMismatch')).toBe(false);
    expect(isProblemKind('digest_mismatch')).toBe(false);
    expect(isProblemKind('-x')).toBe(false);
    expect(() => problem('Bad Kind', '', 'x')).toThrow(/kebab-case/);
  });

  it('renders `subject: message` then `  fix: …`', () => {
    const p = problem('unknown-key', 'images/images.yaml:12', 'unknown key "tagg"', { fix: 'did you mean "tag"?' });
    expect(formatProblem(p)).toBe('images/images.yaml:12: unknown key "tagg"\n  fix: did you mean "tag"?');
    expect(formatProblem(problem('x', '', 'global problem'))).toBe('global problem');
    expect(formatProblem(problem('x', '', 'global'), { emptySubject: '.' })).toBe('.: global');
  });

  it('renders the lint and Solution styles', () => {
    const lint = problem('shellcheck', 'a.sh:3:5', 'quote this', { severity: 'warning', rule: 'SC2086' });
    expect(formatProblem(lint, { style: 'severity' })).toBe('a.sh:3:5: warning: quote this [SC2086]');
    const sol = problem('image-tag', 'solution.yaml', 'bad tag', { fix: 'use a tag' });
    expect(formatProblem(sol, { style: 'severity-kind' })).toBe('solution.yaml: error [image-tag] bad tag\n  fix: use a tag');
    expect(formatProblems([lint, sol], { style: 'severity' }).split('\n')).toHaveLength(3);
  });

  it('counts errors and warnings; warnings never fail', () => {
    const w = problem('a', 's', 'm', { severity: 'warning' });
    const e = problem('b', 's', 'm');
    expect(hasErrorProblems([w])).toBe(false);
    expect(hasErrorProblems([w, e])).toBe(true);
    expect(countProblems([w, e, e])).toEqual({ errors: 2, warnings: 1 });
  });
});
