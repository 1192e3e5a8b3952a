/** Stores a {@link LintResult} between a check task and its report (JSON, atomic rename). */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { TaskError } from '../../engine/task.ts';
import { writeFileAtomic } from '../../lib/fs/atomic-write.ts';
import {
  findingProblem,
  formatFinding,
  hasErrors,
  sortFindings,
  summarize,
  type LintResult,
} from './findings.ts';

/** `<buildRoot>/lint/<subtask>.json` */
export function resultPath(buildRoot: string, subtask: string): string {
  return path.join(buildRoot, 'lint', `${subtask}.json`);
}

/** Writes the result to a temp name, then renames it (never a half-written result). */
export async function writeResult(file: string, result: LintResult): Promise<void> {
  const sorted: LintResult = { ...result, findings: sortFindings(result.findings) };
  await writeFileAtomic(file, JSON.stringify(sorted, null, 2) + '\n', { mkdir: true });
}

/** Reads a stored result; a missing or corrupt file is an internal error of the check task. */
export async function readResult(file: string): Promise<LintResult> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as LintResult;
  } catch (err) {
    throw new TaskError(
      'target-not-produced',
      `lint result ${file} is missing or unreadable: ${String(err)}`,
      {
        hint: 'run the lint task again; `npm run build forget lint` if it persists',
      },
    );
  }
}

/**
 * Prints every finding and the summary of each result through `log`, then throws a TaskError
 * naming the failed subtasks when any result has errors; it carries the errors as problems
 * (the `fail` event's `problems`).
 */
export function reportResults(results: readonly LintResult[], log: (line: string) => void): void {
  for (const result of results) {
    for (const f of result.findings) log(formatFinding(f));
    log(summarize(result));
  }
  const failed = results.filter(hasErrors);
  if (failed.length === 0) return;
  const lines = failed.flatMap((r) =>
    r.findings.filter((f) => f.severity === 'error').map(formatFinding),
  );
  const shown = lines.slice(0, 50);
  if (lines.length > shown.length) shown.push(`... and ${lines.length - shown.length} more`);
  const found = failed.flatMap((r) =>
    r.findings.filter((f) => f.severity === 'error').map((f) => findingProblem(f, r.subtask)),
  );
  throw new TaskError(
    'invalid-input',
    `lint failed: ${failed.map((r) => `lint:${r.subtask}`).join(', ')}`,
    {
      found,
      stderrTail: shown,
      hint: 'fix the findings above (file:line: message); run one subtask alone with e.g. `npm run build lint:shell`',
    },
  );
}
