/**
 * lint:ts: `tsc --noEmit`, `eslint`, and, where the project has their configs, the import rules
 * (`depcruise buildchain`, .dependency-cruiser.cjs) and the formatting (`prettier --check`,
 * .prettierrc.json) on the project, findings as `file:line:col`.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Exec, ExecResult } from '../../engine/exec/run-command.ts';
import { TaskError } from '../../engine/task.ts';
import type { LintFinding, LintResult } from './findings.ts';
import { parseDepcruiseJson, parseEslintJson, parseTscOutput } from './ts-output.ts';

/** The import rules' configuration, at the project root. */
export const DEPCRUISE_CONFIG = '.dependency-cruiser.cjs';

/** Options for {@link lintTypeScript}. */
export interface TsLintOptions {
  /** Project root holding tsconfig.json and eslint.config.js. */
  readonly root: string;
  readonly exec: Exec;
  /** Number of .ts files covered (for the summary). */
  readonly checkedFiles: number;
  /** Default: `<root>/node_modules/.bin/tsc`. */
  readonly tscBin?: string;
  /** Default: `<root>/node_modules/.bin/eslint`. */
  readonly eslintBin?: string;
  /** Default: `<root>/node_modules/.bin/depcruise`. */
  readonly depcruiseBin?: string;
  /** Default: `<root>/node_modules/.bin/prettier`. */
  readonly prettierBin?: string;
}

/** The formatter's configuration, at the project root. */
export const PRETTIER_CONFIG = '.prettierrc.json';

/** `prettier --list-different .`: one finding per file not formatted (none without a config). */
async function formatFindings(
  opts: TsLintOptions,
  bin: (name: string) => string,
): Promise<LintFinding[]> {
  if (!existsSync(path.join(opts.root, PRETTIER_CONFIG))) return [];
  const argv = [opts.prettierBin ?? bin('prettier'), '--list-different', '.'];
  const r: ExecResult = await opts.exec(argv, { cwd: opts.root, reject: false });
  // prettier exits 1 when files differ, 2 when it could not run.
  if (r.exitCode > 1) {
    throw new TaskError('command-failed', `prettier could not run (exit ${r.exitCode})`, {
      argv,
      exitCode: r.exitCode,
      stderrTail: r.stderr.trim().split('\n').slice(-10),
      hint: `check ${PRETTIER_CONFIG} and .prettierignore; run \`npm ci\` if node_modules is missing`,
    });
  }
  return r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((file) => ({
      file,
      severity: 'error' as const,
      rule: 'prettier',
      message: 'not formatted as .prettierrc.json says (run `npm run format`)',
    }));
}

/** The argv of the import-rules check (the same as `npm run lint`'s). */
export function depcruiseArgv(bin: string): string[] {
  return [bin, 'buildchain', '--config', DEPCRUISE_CONFIG, '--output-type', 'json'];
}

/** Runs the import rules when the project has them; no config: no findings. */
async function importRuleFindings(
  opts: TsLintOptions,
  bin: (name: string) => string,
): Promise<LintFinding[]> {
  if (!existsSync(path.join(opts.root, DEPCRUISE_CONFIG))) return [];
  const argv = depcruiseArgv(opts.depcruiseBin ?? bin('depcruise'));
  const r: ExecResult = await opts.exec(argv, { cwd: opts.root, reject: false });
  try {
    return parseDepcruiseJson(r.stdout);
  } catch {
    throw new TaskError('command-failed', `depcruise could not run (exit ${r.exitCode})`, {
      argv,
      exitCode: r.exitCode,
      stderrTail: r.stderr.trim().split('\n').slice(-10),
      hint: `check ${DEPCRUISE_CONFIG}; run \`npm ci\` if node_modules is missing`,
    });
  }
}

/** Runs the tools at once (all always run) and merges their findings. */
export async function lintTypeScript(opts: TsLintOptions): Promise<LintResult> {
  const bin = (name: string): string => path.join(opts.root, 'node_modules', '.bin', name);
  const tscArgv = [opts.tscBin ?? bin('tsc'), '--noEmit', '-p', '.', '--pretty', 'false'];
  const eslintArgv = [opts.eslintBin ?? bin('eslint'), '--format', 'json', '.'];
  const [tsc, eslint, imports, format] = await Promise.all([
    opts.exec(tscArgv, { cwd: opts.root, reject: false }),
    opts.exec(eslintArgv, { cwd: opts.root, reject: false }),
    importRuleFindings(opts, bin),
    formatFindings(opts, bin),
  ]);
  const tscFindings = parseTscOutput(tsc.stdout);
  if (tsc.exitCode !== 0 && tscFindings.length === 0) {
    throw new TaskError('command-failed', `tsc failed without diagnostics (exit ${tsc.exitCode})`, {
      argv: tscArgv,
      exitCode: tsc.exitCode,
      stderrTail: (tsc.stdout + tsc.stderr).trim().split('\n').slice(-10),
      hint: 'run `npm ci` if node_modules is missing',
    });
  }
  if (eslint.exitCode > 1) {
    throw new TaskError('command-failed', `eslint could not run (exit ${eslint.exitCode})`, {
      argv: eslintArgv,
      exitCode: eslint.exitCode,
      stderrTail: eslint.stderr.trim().split('\n').slice(-10),
      hint: 'check eslint.config.js; eslint exits 1 on findings only',
    });
  }
  const eslintFindings = parseEslintJson(eslint.stdout, opts.root);
  return {
    subtask: 'ts',
    checkedFiles: opts.checkedFiles,
    findings: [...tscFindings, ...eslintFindings, ...imports, ...format],
  };
}
