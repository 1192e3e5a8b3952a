/**
 * One `@@` renderer, one placeholder set: a template lint:shell refuses is one iso-root:scripts
 * refuses (same placeholder, same line), and one lint accepts renders in the ISO.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TaskError } from '../../buildchain/engine/task.ts';
import type { Sources } from '../../buildchain/sources/sources.ts';
import { COPIED_SCRIPTS, createIsoRootTasks } from '../../buildchain/tasks/iso-root/tasks.ts';
import { createLintTasks } from '../../buildchain/tasks/lint/tasks.ts';
import { testConfig } from '../helpers/config.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { runTask, taskNamed } from './lint-helpers.ts';

const noSources = { kind: 'embedded' } as Sources;
const SCRIPT = '#!/bin/bash\nset -eu\n';

interface Outcome {
  readonly error: unknown;
  readonly lines: string[];
}

async function outcome(run: (lines: string[]) => Promise<void>): Promise<Outcome> {
  const lines: string[] = [];
  try {
    await run(lines);
    return { error: undefined, lines };
  } catch (error) {
    return { error, lines };
  }
}

describe.skipIf(missingTools('shellcheck').length > 0)(
  '@@ templates: lint and the ISO agree',
  () => {
    let ws: TempDir;
    const put = async (rel: string, text: string): Promise<void> => {
      await mkdir(path.dirname(path.join(ws.path, rel)), { recursive: true });
      await writeFile(path.join(ws.path, rel), text);
    };
    const lintShell = (): Promise<Outcome> =>
      outcome(async (lines) => {
        const tasks = createLintTasks(testConfig(ws.path), noSources);
        await runTask(taskNamed(tasks, 'lint:shell:_check'), ws.path, lines);
        await runTask(taskNamed(tasks, 'lint:shell'), ws.path, lines);
      });
    const isoScripts = (): Promise<Outcome> =>
      outcome(async (lines) => {
        const tasks = createIsoRootTasks(testConfig(ws.path), noSources);
        await runTask(taskNamed(tasks, 'iso-root:scripts'), ws.path, lines);
      });

    beforeEach(async () => {
      ws = await makeTempDir('mk8s-template-');
      await put(
        'VERSION',
        'VERSION_MAJOR=2\nVERSION_MINOR=4\nVERSION_PATCH=0\nVERSION_SUFFIX=-beta1\n',
      );
      await put('scripts/restore.sh.in', `${SCRIPT}echo "@@VERSION"\n`);
      for (const s of COPIED_SCRIPTS) await put(`scripts/${s}`, `${SCRIPT}echo ok\n`);
    });
    afterEach(async () => {
      await ws.cleanup();
    });

    it('a placeholder the ISO does not know (@@SHORT_VERSION) fails both, at the same line', async () => {
      await put('scripts/bootstrap.sh.in', `${SCRIPT}V="@@SHORT_VERSION"\necho "$V"\n`);
      const lint = await lintShell();
      const iso = await isoScripts();
      expect(lint.error).toBeInstanceOf(TaskError);
      expect(lint.lines).toContain(
        'scripts/bootstrap.sh.in:3: error: unknown placeholder @@SHORT_VERSION [template]',
      );
      expect(iso.error).toBeInstanceOf(TaskError);
      expect((iso.error as TaskError).message).toBe(
        'scripts/bootstrap.sh.in: unknown placeholder @@SHORT_VERSION (line 3)',
      );
    });

    it('a known placeholder (@@VERSION) passes both, rendered the same', async () => {
      await put('scripts/bootstrap.sh.in', `${SCRIPT}V="@@VERSION"\necho "$V"\n`);
      const lint = await lintShell();
      const iso = await isoScripts();
      expect(lint.error).toBeUndefined();
      expect(iso.error).toBeUndefined();
      const rendered = await readFile(path.join(ws.path, '_build/root/bootstrap.sh'), 'utf8');
      expect(rendered).toBe(`${SCRIPT}V="2.4.0-beta1"\necho "$V"\n`);
      const linted = await readFile(
        path.join(ws.path, '_build/lint/work/scripts/bootstrap.sh'),
        'utf8',
      );
      expect(linted).toBe(rendered);
    });
  },
);
