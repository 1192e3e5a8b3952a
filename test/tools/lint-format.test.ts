/**
 * Formatting is part of lint: `lint:ts` (and `npm run lint`) runs `prettier --check` with the
 * project's .prettierrc.json and .prettierignore; a file not formatted is one error finding,
 * an ignored one is none, and a project without a prettier config gets no finding.
 */
import { copyFile, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execDirect } from '../../buildchain/engine/exec/run-command.ts';
import { lintTypeScript } from '../../buildchain/tasks/lint/run-ts.ts';
import { fakeTool } from '../helpers/fake-tool.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const REPO = path.resolve(import.meta.dirname, '../..');

describe('lint:ts checks the formatting', () => {
  let tmp: TempDir;
  let bin: string;
  const lint = () =>
    lintTypeScript({
      root: tmp.path,
      exec: execDirect,
      checkedFiles: 2,
      // tsc and eslint stubbed: they are not what this test is about.
      tscBin: fakeTool(bin, 'tsc'),
      eslintBin: fakeTool(bin, 'eslint', { body: 'echo "[]"' }),
    });

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-lint-format-');
    bin = path.join(tmp.path, 'stub-bin');
    await mkdir(bin, { recursive: true });
    await symlink(path.join(REPO, 'node_modules'), path.join(tmp.path, 'node_modules'));
    await mkdir(path.join(tmp.path, 'src'));
    await mkdir(path.join(tmp.path, 'content'));
    await writeFile(path.join(tmp.path, 'src/good.ts'), "export const good = 'formatted';\n");
    await writeFile(path.join(tmp.path, 'src/bad.ts'), 'export const   bad = "not formatted"\n');
    await writeFile(path.join(tmp.path, 'content/kept.ts'), 'export const   kept = "as is"\n');
    await writeFile(path.join(tmp.path, '.prettierignore'), 'node_modules/\nstub-bin/\ncontent/\n');
  });
  afterAll(() => tmp.cleanup());

  it('without .prettierrc.json: no formatting finding', async () => {
    const r = await lint();
    expect(r.findings).toEqual([]);
  });

  it('with the project config: one error per file not formatted, ignored files left alone', async () => {
    await copyFile(path.join(REPO, '.prettierrc.json'), path.join(tmp.path, '.prettierrc.json'));
    try {
      const r = await lint();
      expect(r.findings).toEqual([
        {
          file: 'src/bad.ts',
          severity: 'error',
          rule: 'prettier',
          message: 'not formatted as .prettierrc.json says (run `npm run format`)',
        },
      ]);
    } finally {
      await rm(path.join(tmp.path, '.prettierrc.json'));
    }
  });
});
