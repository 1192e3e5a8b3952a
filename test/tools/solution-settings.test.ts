/**
 * Every `metalk8s-solution` command reads the buildchain's settings object (config/settings.ts,
 * .env < environment) and reports a bad setting as the build CLI does: `error: <message naming
 * the setting>` and its hint, exit 2, no stack trace, nothing written.
 */
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initSolution } from '../../buildchain/tasks/solution/init/init.ts';
import { runSolutionInProcess } from '../helpers/cli-in-process.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const BAD_EPOCH =
  "error: SOURCE_DATE_EPOCH='yesterday' is not a whole number of seconds from 0 to 4294967295 (1970-01-01 to 2106-02-07 UTC)\n  hint: set SOURCE_DATE_EPOCH to an integer in that range";

describe('solution commands: a bad setting is exit 2 naming it', () => {
  let tmp: TempDir;
  let dir: string;
  let out: string;
  let work: string;
  const iso = (): string => path.join(out, 'x.iso');

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-solution-settings-');
    dir = path.join(tmp.path, 'sol');
    await initSolution(dir, { name: 'Set', version: '1.0.0' });
    out = path.join(tmp.path, 'out');
    work = path.join(tmp.path, 'work');
    await mkdir(out);
  });
  afterAll(async () => {
    await tmp.cleanup();
  });

  const commands = (): [string, string[]][] => [
    ['build', ['build', dir, '-o', iso(), '--work-dir', work, '--allow-host-files']],
    [
      'build --sign-key --images-auto',
      ['build', dir, '-o', iso(), '--work-dir', work, '--sign-key', 'k', '--images-auto'],
    ],
    ['lint', ['lint', dir, '--json']],
    ['inspect', ['inspect', iso(), '--key', path.join(tmp.path, 'k.asc')]],
    ['verify', ['verify', iso(), '--key', path.join(tmp.path, 'k.asc')]],
  ];

  it.each([0, 1, 2, 3, 4])('SOURCE_DATE_EPOCH=yesterday: command #%i', async (i) => {
    const [name, argv] = commands()[i] ?? ['', []];
    const r = await runSolutionInProcess(argv, { SOURCE_DATE_EPOCH: 'yesterday' });
    expect(r.code, `${name}: ${r.err}`).toBe(2);
    expect(r.err).toContain(BAD_EPOCH);
    expect(r.err).not.toMatch(/\n\s+at /);
    expect(r.out).toBe('');
    expect(await readdir(out)).toEqual([]);
    expect(await readdir(tmp.path)).not.toContain('work');
  });

  it('another bad setting (IMAGE_PULL_CONNECTIONS=abc) and a bad tool path setting', async () => {
    const r = await runSolutionInProcess(commands()[0]?.[1] ?? [], {
      IMAGE_PULL_CONNECTIONS: 'abc',
    });
    expect(r.code).toBe(2);
    expect(r.err).toContain('error: IMAGE_PULL_CONNECTIONS=abc is not a positive integer');
    const v = await runSolutionInProcess(['verify', iso()], { IMAGE_BUILDER: 'kaniko' });
    expect(v.code).toBe(2);
    expect(v.err).toContain('IMAGE_BUILDER=kaniko');
  });
});
