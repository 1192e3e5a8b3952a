/** shellcheck: argv builder and parser of its `-f gcc` output. Pure. */
import type { LintFinding } from './findings.ts';

/** argv checking `files` (paths as given) and printing one `file:line:col: level: msg [SCnnnn]` each. */
export function shellcheckArgs(bin: string, files: readonly string[]): string[] {
  // -x: follow `source` lines to files given on the command line (they are linted anyway).
  return [bin, '--format=gcc', '--external-sources', '--', ...files];
}

const GCC_LINE = /^(.+?):(\d+):(\d+): (error|warning|note): (.*?)(?: \[(SC\d+)\])?$/;

/**
 * Parses shellcheck's gcc format. Every level fails the lint (shellcheck itself exits 1 on
 * notes too); `renamed` maps a rendered template back to its source path.
 */
export function parseShellcheckGcc(
  output: string,
  renamed: ReadonlyMap<string, string> = new Map(),
): LintFinding[] {
  const findings: LintFinding[] = [];
  for (const line of output.split('\n')) {
    const m = GCC_LINE.exec(line.trimEnd());
    if (m === null) continue;
    const [, file = '', ln = '0', col = '0', level = 'error', message = '', rule] = m;
    findings.push({
      file: renamed.get(file) ?? file,
      line: Number(ln),
      column: Number(col),
      severity: 'error',
      message: level === 'error' ? message : `${level}: ${message}`,
      ...(rule === undefined ? {} : { rule }),
    });
  }
  return findings;
}
