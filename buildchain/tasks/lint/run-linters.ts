/**
 * Runs shellcheck and yamllint over file sets and returns their findings. Findings are values:
 * only a tool that cannot run (missing, crashed, usage error) throws a TaskError.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Exec } from '../../engine/exec/run-command.ts';
import { TaskError } from '../../engine/task.ts';
import { describeTemplateProblem, scanTemplate } from '../../lib/text/at-template.ts';
import type { LintFinding, LintResult } from './findings.ts';
import { parseShellcheckGcc, shellcheckArgs } from './shellcheck.ts';
import { planYamlFile } from './yaml-files.ts';
import { parseYamllintParsable, yamllintArgs } from './yamllint.ts';

/** Options shared by the linters. */
export interface LinterOptions {
  /** Absolute project root; `files` are relative to it. */
  readonly root: string;
  /** Scratch directory for rendered templates (under BUILD_ROOT). */
  readonly workDir: string;
  readonly files: readonly string[];
  /** Template values for `*.in` files (`templateValues`, as the ISO renders them). */
  readonly values: Readonly<Record<string, string>>;
  /** The linter binary (shellcheck or yamllint). */
  readonly bin: string;
  readonly exec: Exec;
  /** Lines to show the user (exclusions); default: none. */
  readonly log?: (line: string) => void;
}

interface Prepared {
  /** Paths given to the tool (relative, or absolute for rendered copies). */
  readonly argvFiles: string[];
  /** Rendered copy (absolute) → template (relative). */
  readonly renamed: Map<string, string>;
  readonly findings: LintFinding[];
}

async function renderInto(opts: LinterOptions, file: string, out: Prepared): Promise<void> {
  // The ISO's renderer and values: lint refuses exactly the placeholders the ISO build refuses.
  const rendered = scanTemplate(await readFile(path.join(opts.root, file), 'utf8'), opts.values);
  for (const p of rendered.problems) {
    out.findings.push({
      file,
      line: p.line,
      severity: 'error',
      rule: 'template',
      message: describeTemplateProblem(p, opts.values),
    });
  }
  const dest = path.join(opts.workDir, file.replace(/\.in$/, ''));
  await mkdir(path.dirname(dest), { recursive: true });
  await writeFile(dest, rendered.text);
  out.argvFiles.push(dest);
  out.renamed.set(dest, file);
}

function toolFailed(
  tool: string,
  argv: readonly string[],
  exitCode: number,
  stderr: string,
): TaskError {
  return new TaskError('command-failed', `${tool} could not run (exit ${exitCode})`, {
    argv,
    exitCode,
    stderrTail: stderr.trim().split('\n').slice(-10),
    hint: `run the command by hand to see why; ${tool} exits 1 on findings only`,
  });
}

/** shellcheck on `files`; `*.in` templates are rendered into `workDir` first. */
export async function lintShellFiles(opts: LinterOptions): Promise<LintResult> {
  const prepared: Prepared = { argvFiles: [], renamed: new Map(), findings: [] };
  for (const file of opts.files) {
    if (file.endsWith('.in')) await renderInto(opts, file, prepared);
    else prepared.argvFiles.push(file);
  }
  if (prepared.argvFiles.length > 0) {
    const argv = shellcheckArgs(opts.bin, prepared.argvFiles);
    const res = await opts.exec(argv, { cwd: opts.root, reject: false });
    if (res.exitCode > 1) throw toolFailed('shellcheck', argv, res.exitCode, res.stderr);
    prepared.findings.push(...parseShellcheckGcc(res.stdout, prepared.renamed));
    if (res.exitCode === 1 && prepared.findings.length === 0)
      throw toolFailed('shellcheck', argv, 1, res.stdout + res.stderr);
  }
  return { subtask: 'shell', checkedFiles: opts.files.length, findings: prepared.findings };
}

/** yamllint (with `configFile`) on `files`; Jinja templates are excluded and logged. */
export async function lintYamlFiles(
  opts: LinterOptions & { readonly configFile: string },
): Promise<LintResult> {
  const prepared: Prepared = { argvFiles: [], renamed: new Map(), findings: [] };
  let checked = 0;
  for (const file of opts.files) {
    const plan = planYamlFile(file, await readFile(path.join(opts.root, file), 'utf8'));
    if (plan.kind === 'exclude') {
      opts.log?.(`${file}: excluded: ${plan.reason}`);
      continue;
    }
    checked += 1;
    if (plan.kind === 'render') await renderInto(opts, file, prepared);
    else prepared.argvFiles.push(file);
  }
  if (prepared.argvFiles.length > 0) {
    const argv = yamllintArgs(opts.bin, opts.configFile, prepared.argvFiles);
    const res = await opts.exec(argv, { cwd: opts.root, reject: false });
    // yamllint: 0 clean (or warnings only), 1 errors; anything else (2: usage) is a tool failure
    if (res.exitCode > 1) throw toolFailed('yamllint', argv, res.exitCode, res.stderr);
    const found = parseYamllintParsable(res.stdout).map((f) => ({
      ...f,
      file: prepared.renamed.get(f.file) ?? f.file,
    }));
    prepared.findings.push(...found);
    if (res.exitCode !== 0 && found.length === 0)
      throw toolFailed('yamllint', argv, res.exitCode, res.stdout + res.stderr);
  }
  return { subtask: 'yaml', checkedFiles: checked, findings: prepared.findings };
}
