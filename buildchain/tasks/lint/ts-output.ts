/** Parsers of `tsc --pretty false` and `eslint --format json` output. Pure. */
import type { LintFinding } from './findings.ts';

const TSC_LINE = /^(.+?)\((\d+),(\d+)\): (error|warning) (TS\d+): (.*)$/;

/** Parses tsc's plain diagnostics (`file(line,col): error TSnnnn: message`). */
export function parseTscOutput(output: string): LintFinding[] {
  const findings: LintFinding[] = [];
  for (const line of output.split('\n')) {
    const m = TSC_LINE.exec(line.trimEnd());
    if (m === null) continue;
    const [, file = '', ln = '0', col = '0', , rule = '', message = ''] = m;
    findings.push({
      file,
      line: Number(ln),
      column: Number(col),
      severity: 'error',
      rule,
      message,
    });
  }
  return findings;
}

interface EslintMessage {
  readonly ruleId?: string | null;
  readonly severity?: number;
  readonly message?: string;
  readonly line?: number;
  readonly column?: number;
}

interface EslintFileResult {
  readonly filePath?: string;
  readonly messages?: readonly EslintMessage[];
}

/**
 * Parses `eslint --format json`. Severity 2 is an error, 1 a warning. Paths are made relative
 * to `root`. Throws on output that is not eslint's JSON array.
 */
export function parseEslintJson(json: string, root: string): LintFinding[] {
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed)) throw new Error('eslint JSON output is not an array');
  const findings: LintFinding[] = [];
  for (const item of parsed as EslintFileResult[]) {
    const abs = item.filePath ?? '';
    const file = abs.startsWith(root + '/') ? abs.slice(root.length + 1) : abs;
    for (const msg of item.messages ?? []) {
      findings.push({
        file,
        ...(msg.line === undefined ? {} : { line: msg.line }),
        ...(msg.column === undefined ? {} : { column: msg.column }),
        severity: msg.severity === 2 ? 'error' : 'warning',
        ...(msg.ruleId ? { rule: msg.ruleId } : {}),
        message: msg.message ?? '(no message)',
      });
    }
  }
  return findings;
}

interface DepcruiseViolation {
  readonly from?: string;
  readonly to?: string;
  readonly rule?: { readonly name?: string; readonly severity?: string };
  /** A cycle: the modules in order (depcruise 16+: objects with a `name`). */
  readonly cycle?: readonly (string | { readonly name?: string })[];
}

/**
 * Parses `depcruise --output-type json` (the import rules of .dependency-cruiser.cjs): one
 * finding per violation, on the importing file. Throws on output that is not depcruise's JSON.
 */
export function parseDepcruiseJson(json: string): LintFinding[] {
  const parsed = JSON.parse(json) as { summary?: { violations?: unknown } };
  const violations = parsed.summary?.violations;
  if (!Array.isArray(violations))
    throw new Error('depcruise JSON output has no summary.violations');
  return (violations as DepcruiseViolation[]).map((v) => {
    const from = v.from ?? '(unknown)';
    const cycle = (v.cycle ?? []).map((c) => (typeof c === 'string' ? c : (c.name ?? '')));
    const path =
      cycle.length > 0 ? [from, ...cycle].join(' → ') : `${from} → ${v.to ?? '(unknown)'}`;
    return {
      file: from,
      severity: v.rule?.severity === 'warn' || v.rule?.severity === 'info' ? 'warning' : 'error',
      ...(v.rule?.name === undefined ? {} : { rule: v.rule.name }),
      message: `forbidden import: ${path}`,
    };
  });
}
