/** yamllint: argv builder and parser of its `-f parsable` output. Pure. */
import type { LintFinding } from './findings.ts';

/** argv linting `files` with the project config, one `file:line:col: [level] msg (rule)` each. */
export function yamllintArgs(bin: string, configFile: string, files: readonly string[]): string[] {
  return [bin, '--format', 'parsable', '--config-file', configFile, '--', ...files];
}

const PARSABLE_LINE = /^(.+?):(\d+):(\d+): \[(error|warning)\] (.*?)(?: \(([\w-]+)\))?$/;

/**
 * Parses yamllint's parsable format. Rules at level `warning` in `.yamllint` (e.g.
 * comments-indentation) are shown and do not fail, as yamllint itself without --strict.
 */
export function parseYamllintParsable(output: string): LintFinding[] {
  const findings: LintFinding[] = [];
  for (const line of output.split('\n')) {
    const m = PARSABLE_LINE.exec(line.trimEnd());
    if (m === null) continue;
    const [, file = '', ln = '0', col = '0', level = 'error', message = '', rule] = m;
    findings.push({
      file,
      line: Number(ln),
      column: Number(col),
      severity: level === 'error' ? 'error' : 'warning',
      message,
      ...(rule === undefined ? {} : { rule }),
    });
  }
  return findings;
}
