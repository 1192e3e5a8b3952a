/**
 * `npx tsx buildchain/cli/report.ts compare OLD NEW` — prints what grew or shrank between two
 * build reports (`_build/artifacts/build-report.json` of two builds), biggest change first.
 * Exit codes: 0 printed, 1 a report cannot be read, 2 usage or a bad setting in .env.
 */
import { compareReports, formatChanges } from '../tasks/artifacts/compare.ts';
import { readReport } from '../tasks/artifacts/tasks.ts';
import { TaskError } from '../engine/task.ts';
import { loadSettingsOrReport } from './settings.ts';

const USAGE = 'usage: report compare OLD-build-report.json NEW-build-report.json';

/** Runs the command; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [command, oldFile, newFile, ...rest] = argv;
  if (command !== 'compare' || oldFile === undefined || newFile === undefined || rest.length > 0) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  if (loadSettingsOrReport('report') === undefined) return 2;
  try {
    const changes = compareReports(await readReport(oldFile), await readReport(newFile));
    process.stdout.write(`${formatChanges(changes).join('\n')}\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof TaskError)) throw err;
    process.stderr.write(
      `report: ${err.message}\n${err.hint === undefined ? '' : `hint: ${err.hint}\n`}`,
    );
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  process.exitCode = await main(process.argv.slice(2));
}
