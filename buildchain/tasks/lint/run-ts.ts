/** lint:ts: `tsc --noEmit` and `eslint` on the project, findings as `file:line:col`. */
import path from 'node:path';
import { TaskError } from '../../engine/task.ts';
import type { LintResult } from './findings.ts';
import type { Exec } from './run-linters.ts';
import { parseEslintJson, parseTscOutput } from './ts-output.ts';

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
}

/** Runs both tools at once (both always run) and merges their findings. */
export async function lintTypeScript(opts: TsLintOptions): Promise<LintResult> {
  const bin = (name: string): string => path.join(opts.root, 'node_modules', '.bin', name);
  const tscArgv = [opts.tscBin ?? bin('tsc'), '--noEmit', '-p', '.', '--pretty', 'false'];
  const eslintArgv = [opts.eslintBin ?? bin('eslint'), '--format', 'json', '.'];
  const [tsc, eslint] = await Promise.all([
    opts.exec(tscArgv, { cwd: opts.root, reject: false }),
    opts.exec(eslintArgv, { cwd: opts.root, reject: false }),
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
    findings: [...tscFindings, ...eslintFindings],
  };
}
