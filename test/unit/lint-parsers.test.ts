import { describe, expect, it } from 'vitest';
import {
  findingProblem,
  formatFinding,
  hasErrors,
  summarize,
} from '../../buildchain/tasks/lint/findings.ts';
import { reportResults } from '../../buildchain/tasks/lint/result-file.ts';
import { TaskError } from '../../buildchain/lib/errors.ts';
import { parseRpmspecErrors } from '../../buildchain/tasks/lint/package-checks.ts';
import { scanTemplate, templateValues } from '../../buildchain/lib/text/at-template.ts';
import { parseShellcheckGcc, shellcheckArgs } from '../../buildchain/tasks/lint/shellcheck.ts';
import { parseEslintJson, parseTscOutput } from '../../buildchain/tasks/lint/ts-output.ts';
import { planYamlFile } from '../../buildchain/tasks/lint/yaml-files.ts';
import { parseYamllintParsable, yamllintArgs } from '../../buildchain/tasks/lint/yamllint.ts';

describe('shellcheck gcc output', () => {
  it('parses file, line, column, level and rule, and maps rendered templates back', () => {
    const out = [
      'scripts/a.sh:2:6: warning: foo is referenced but not assigned. [SC2154]',
      '/b/_build/lint/work/scripts/boot.sh:3:1: note: Double quote to prevent globbing. [SC2086]',
      'garbage line',
    ].join('\n');
    const findings = parseShellcheckGcc(
      out,
      new Map([['/b/_build/lint/work/scripts/boot.sh', 'scripts/boot.sh.in']]),
    );
    expect(findings).toEqual([
      {
        file: 'scripts/a.sh',
        line: 2,
        column: 6,
        severity: 'error',
        rule: 'SC2154',
        message: 'warning: foo is referenced but not assigned.',
      },
      {
        file: 'scripts/boot.sh.in',
        line: 3,
        column: 1,
        severity: 'error',
        rule: 'SC2086',
        message: 'note: Double quote to prevent globbing.',
      },
    ]);
  });
  it('builds an argv with the gcc format and the files after --', () => {
    expect(shellcheckArgs('sc', ['a.sh'])).toEqual([
      'sc',
      '--format=gcc',
      '--external-sources',
      '--',
      'a.sh',
    ]);
  });
});

describe('yamllint parsable output', () => {
  it('parses errors and warnings with their rule', () => {
    const out =
      'a.yaml:1:1: [warning] missing document start "---" (document-start)\na.yaml:2:6: [error] trailing spaces (trailing-spaces)\n';
    expect(parseYamllintParsable(out)).toEqual([
      {
        file: 'a.yaml',
        line: 1,
        column: 1,
        severity: 'warning',
        rule: 'document-start',
        message: 'missing document start "---"',
      },
      {
        file: 'a.yaml',
        line: 2,
        column: 6,
        severity: 'error',
        rule: 'trailing-spaces',
        message: 'trailing spaces',
      },
    ]);
  });
  it('passes the config', () => {
    expect(yamllintArgs('yl', '.yamllint', ['x.yaml'])).toEqual([
      'yl',
      '--format',
      'parsable',
      '--config-file',
      '.yamllint',
      '--',
      'x.yaml',
    ]);
  });
});

describe('TypeScript tool output', () => {
  it('parses tsc diagnostics', () => {
    const out =
      "buildchain/x.ts(12,5): error TS2322: Type 'string' is not assignable to type 'number'.\nFound 1 error.";
    expect(parseTscOutput(out)).toEqual([
      {
        file: 'buildchain/x.ts',
        line: 12,
        column: 5,
        severity: 'error',
        rule: 'TS2322',
        message: "Type 'string' is not assignable to type 'number'.",
      },
    ]);
  });
  it('parses eslint JSON with paths relative to the root', () => {
    const json = JSON.stringify([
      {
        filePath: '/r/a.ts',
        messages: [
          { ruleId: 'no-var', severity: 2, message: 'Unexpected var', line: 1, column: 1 },
        ],
      },
      {
        filePath: '/r/b.ts',
        messages: [{ ruleId: null, severity: 1, message: 'Unused directive', line: 3, column: 2 }],
      },
    ]);
    expect(parseEslintJson(json, '/r')).toEqual([
      {
        file: 'a.ts',
        line: 1,
        column: 1,
        severity: 'error',
        rule: 'no-var',
        message: 'Unexpected var',
      },
      { file: 'b.ts', line: 3, column: 2, severity: 'warning', message: 'Unused directive' },
    ]);
  });
  it('rejects output that is not an eslint array', () => {
    expect(() => parseEslintJson('{}', '/r')).toThrow(/not an array/);
  });
});

describe('rpmspec errors', () => {
  it('keeps the line when rpmspec gives it', () => {
    expect(
      parseRpmspecErrors('error: line 4: Unknown tag: Bogus: x\n', 'packages-specs/a/a.spec'),
    ).toEqual([
      {
        file: 'packages-specs/a/a.spec',
        line: 4,
        severity: 'error',
        rule: 'rpmspec',
        message: 'Unknown tag: Bogus: x',
      },
    ]);
  });
  it('reports a failure without error lines as one finding', () => {
    const [f] = parseRpmspecErrors('something odd\n', 's.spec');
    expect(f?.message).toContain('something odd');
  });
});

describe('@@ templates', () => {
  it('substitutes known placeholders, keeps @@@@ as @@ and lists unknown ones with their line', () => {
    // SHORT_VERSION is not an ISO placeholder: lint lists it as the ISO build refuses it.
    const r = scanTemplate(
      'v=@@VERSION\nw=@@{SHORT_VERSION}x\nlit=@@@@\nbad=@@NOPE\n',
      templateValues('2.4.0-beta1'),
    );
    expect(r.text).toBe('v=2.4.0-beta1\nw=@@{SHORT_VERSION}x\nlit=@@\nbad=@@NOPE\n');
    expect(r.problems).toEqual([
      { kind: 'unknown', name: 'SHORT_VERSION', line: 2 },
      { kind: 'unknown', name: 'NOPE', line: 4 },
    ]);
  });
});

describe('YAML file plans', () => {
  it('lints plain YAML and plain .sls', () => {
    expect(planYamlFile('salt/a.sls', 'a:\n  b: 1\n')).toEqual({ kind: 'lint' });
  });
  it('excludes Jinja templates and non-YAML renderers with a reason', () => {
    expect(planYamlFile('salt/a.sls', '{%- set x = 1 %}\na: {{ x }}\n')).toMatchObject({
      kind: 'exclude',
      reason: expect.stringContaining('Jinja') as unknown,
    });
    expect(planYamlFile('salt/b.sls', '#!py\ndef run(): pass\n')).toMatchObject({
      kind: 'exclude',
      reason: expect.stringContaining('py') as unknown,
    });
  });
  it('lints {{ }} outside Salt files (GitHub Actions expressions are YAML strings)', () => {
    expect(planYamlFile('.github/workflows/build.yml', 'name: ${{ github.sha }}\n')).toEqual({
      kind: 'lint',
    });
  });
  it('renders @@ templates without Jinja', () => {
    expect(planYamlFile('salt/top.sls.in', 'metalk8s-@@VERSION:\n  "*": []\n')).toEqual({
      kind: 'render',
    });
  });
});

describe('findings', () => {
  it('formats file:line:col and summarizes; warnings do not fail', () => {
    const finding = {
      file: 'a',
      line: 1,
      column: 2,
      severity: 'warning' as const,
      message: 'm',
      rule: 'R',
    };
    const result = { subtask: 'shell', checkedFiles: 2, findings: [finding] };
    expect(formatFinding(finding)).toBe('a:1:2: warning: m [R]');
    expect(hasErrors(result)).toBe(false);
    expect(summarize(result)).toBe('lint:shell: 0 errors, 1 warning in 2 files');
  });
  it('a finding is a problem: the checker as kind, file:line:col as subject, the rule kept', () => {
    const f = {
      file: 'scripts/a.sh',
      line: 3,
      column: 5,
      severity: 'error' as const,
      message: 'quote this',
      rule: 'SC2086',
    };
    expect(findingProblem(f, 'shell')).toEqual({
      kind: 'shellcheck',
      subject: 'scripts/a.sh:3:5',
      message: 'quote this',
      severity: 'error',
      rule: 'SC2086',
    });
    expect(findingProblem({ file: 'x.yaml', severity: 'warning', message: 'm' }, 'yaml')).toEqual({
      kind: 'yamllint',
      subject: 'x.yaml',
      message: 'm',
      severity: 'warning',
    });
    expect(findingProblem(f, 'New Thing').kind).toBe('lint-new-thing');
  });
  it('a failed lint carries its errors as problems (warnings left out)', () => {
    const err = { file: 'a.sh', line: 1, severity: 'error' as const, message: 'bad' };
    const warn = { file: 'b.sh', severity: 'warning' as const, message: 'meh' };
    const lines: string[] = [];
    let thrown: unknown;
    try {
      reportResults([{ subtask: 'shell', checkedFiles: 2, findings: [err, warn] }], (l) =>
        lines.push(l),
      );
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(TaskError);
    expect((thrown as TaskError).found).toEqual([
      { kind: 'shellcheck', subject: 'a.sh:1', message: 'bad', severity: 'error' },
    ]);
    expect(lines).toEqual([
      'a.sh:1: error: bad',
      'b.sh: warning: meh',
      'lint:shell: 1 error, 1 warning in 2 files',
    ]);
  });
});
