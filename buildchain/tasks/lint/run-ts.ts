/**
 * lint:ts: `tsc --noEmit`, `eslint` and, where the project has .dependency-cruiser.cjs, the
 * import rules (`depcruise buildchain`) on the project, findings as `file:line:col`.
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
}

/** The argv of the import-rules check (the same as `npm run lint`'s). */
export function depcruiseArgv(bin: string): string[] {
  return [bin, 'buildchain', '--config', DEPCRUISE_CONFIG, '--output-type', 'json'];
}

/** Runs the import rules when the project has them; no config: no findings. */
async function importRuleFindings(opts: TsLintOptions, bin: (name: string) => string): Promise<LintFinding[]> {
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
  const [tsc, eslint, imports] = await Promise.all([
    opts.exec(tscArgv, { cwd: opts.root, reject: false }),
    opts.exec(eslintArgv, { cwd: opts.root, reject: false }),
    importRuleFindings(opts, bin),
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
    findings: [...tscFindings, ...eslintFindings, ...imports],
  };
}
