/**
 * The lint checks on the real repository: the clean tree must pass. Results go to a temp
 * BUILD_ROOT so the developer's _build/ is untouched. lint:ts is left out here: on the whole
 * repository it is `tsc --noEmit && eslint .` (`npm run lint`), minutes on a loaded 2-core
 * machine; lint-tasks.test.ts runs it on a small workspace. The checks run on the engine.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../buildchain/config/load.ts';
import { formatFinding } from '../../buildchain/tasks/lint/findings.ts';
import { readResult, resultPath } from '../../buildchain/tasks/lint/result-file.ts';
import { createLintTasks } from '../../buildchain/tasks/lint/tasks.ts';
import type { Sources } from '../../buildchain/sources/sources.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { runOnEngine } from '../helpers/engine-run.ts';

const REPO = path.resolve(import.meta.dirname, '../..');

describe.skipIf(missingTools('shellcheck', 'yamllint', 'rpmspec').length > 0)(
  'lint on the repository',
  () => {
    let tmp: TempDir;
    beforeAll(async () => {
      tmp = await makeTempDir('mk8s-lint-repo-');
    });
    afterAll(async () => {
      await tmp.cleanup();
    });

    it.each(['shell', 'yaml', 'content'])('lint:%s finds no error in the tree', async (sub) => {
      const config = loadConfig(REPO, { ...process.env, BUILD_ROOT: tmp.path });
      const tasks = createLintTasks(config, {} as Sources);
      const r = await runOnEngine(config, tasks, [`lint:${sub}:_check`]);
      expect(r.exitCode, r.failures.join('\n')).toBe(0);
      const result = await readResult(resultPath(tmp.path, sub));
      const errors = result.findings.filter((f) => f.severity === 'error').map(formatFinding);
      expect(errors).toEqual([]);
      expect(result.checkedFiles).toBeGreaterThan(0);
    });
  },
);
