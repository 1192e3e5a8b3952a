import { describe, expect, it } from 'vitest';
import {
  countProblems,
  formatProblem,
  formatProblems,
  hasErrorProblems,
  isProblemKind,
  problem,
  problemFromText,
} from '../../buildchain/lib/problem.ts';
import { withProblem } from '../../buildchain/engine/events.ts';
import { formatEvent } from '../../buildchain/engine/reporters/console.ts';
import { jsonStreamReporter } from '../../buildchain/engine/reporters/json.ts';

describe('problem model', () => {
  it('builds a problem, defaulting to an error and leaving absent details out', () => {
    const p = problem('unknown-key', '.env:3', 'FOO is not a known setting');
    expect(p).toEqual({
      kind: 'unknown-key',
      subject: '.env:3',
      message: 'FOO is not a known setting',
      severity: 'error',
    });
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
    const p = problem('unknown-key', 'images/images.yaml:12', 'unknown key "tagg"', {
      fix: 'did you mean "tag"?',
    });
    expect(formatProblem(p)).toBe(
      'images/images.yaml:12: unknown key "tagg"\n  fix: did you mean "tag"?',
    );
    expect(formatProblem(problem('x', '', 'global problem'))).toBe('global problem');
    expect(formatProblem(problem('x', '', 'global'), { emptySubject: '.' })).toBe('.: global');
  });

  it('renders the lint and Solution styles', () => {
    const lint = problem('shellcheck', 'a.sh:3:5', 'quote this', {
      severity: 'warning',
      rule: 'SC2086',
    });
    expect(formatProblem(lint, { style: 'severity' })).toBe(
      'a.sh:3:5: warning: quote this [SC2086]',
    );
    const sol = problem('image-tag', 'solution.yaml', 'bad tag', { fix: 'use a tag' });
    expect(formatProblem(sol, { style: 'severity-kind' })).toBe(
      'solution.yaml: error [image-tag] bad tag\n  fix: use a tag',
    );
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

describe('problemFromText', () => {
  it('takes a leading file:line[:col] as the subject and renders the same text back', () => {
    const text = '/p/.env:3: unknown key PROJET_NAME';
    const p = problemFromText('invalid-env', text, { fix: 'did you mean PROJECT_NAME?' });
    expect(p.subject).toBe('/p/.env:3');
    expect(p.message).toBe('unknown key PROJET_NAME');
    expect(formatProblem(p, { fixPrefix: '  hint: ' })).toBe(
      `${text}\n  hint: did you mean PROJECT_NAME?`,
    );
    expect(problemFromText('x', 'images/images.yaml:12:5: bad').subject).toBe(
      'images/images.yaml:12:5',
    );
  });

  it('leaves other messages whole, with no subject', () => {
    for (const text of [
      "SOURCE_DATE_EPOCH='x' is not a number",
      'unknown task: foo',
      'a:b: c',
      'f:1:',
    ]) {
      const p = problemFromText('usage', text);
      expect(p.subject).toBe('');
      expect(formatProblem(p)).toBe(text);
    }
  });
});

describe('problems in events and reporters', () => {
  it('gives error and fail events their problem; the console renders the same text as before', () => {
    const err = {
      event: 'error',
      reason: 'invalid-env',
      message: '/p/.env:3: unknown key X',
      hint: 'did you mean Y?',
    } as const;
    const withP = withProblem(err);
    expect(withP).toMatchObject({
      ...err,
      problem: {
        kind: 'invalid-env',
        subject: '/p/.env:3',
        message: 'unknown key X',
        fix: 'did you mean Y?',
      },
    });
    expect(formatEvent(err, {})).toBe('error: /p/.env:3: unknown key X\n  hint: did you mean Y?');
    expect(formatEvent({ event: 'error', reason: 'usage', message: 'no such command' }, {})).toBe(
      'error: no such command',
    );
    const fail = {
      event: 'fail',
      task: 'lint',
      reason: 'invalid-input',
      message: 'lint failed',
      durationMs: 1,
    } as const;
    expect(withProblem(fail)).toMatchObject({
      problem: { kind: 'invalid-input', subject: 'lint', message: 'lint failed' },
    });
    const done = { event: 'done', task: 't', durationMs: 1 } as const;
    expect(withProblem(done)).toBe(done);
  });

  it('the JSON reporter carries the problem of every error event', () => {
    const lines: string[] = [];
    const out = { write: (l: string) => lines.push(l) } as unknown as NodeJS.WritableStream;
    jsonStreamReporter(out).emit({ event: 'error', reason: 'cycle', message: 'a -> b -> a' });
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({
      reason: 'cycle',
      message: 'a -> b -> a',
      problem: { kind: 'cycle', subject: '', message: 'a -> b -> a', severity: 'error' },
    });
  });
});
