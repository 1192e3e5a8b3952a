/**
 * The launcher (./doit.sh → bin/buildchain.js → bin/launch.js): it runs the compiled tree
 * under dist/ and never stale code. Edits happen in a copy of the buildchain (its own dist/);
 * the command-line and fingerprint checks run this repository's ./doit.sh on a temporary
 * BUILD_ROOT.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNdjson, type JsonEvent } from '../helpers/ndjson.ts';
import { hasStack, runFile, shellEnv, type FileRun } from '../helpers/run-cli.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { copyBuildchain, REPO_ROOT } from '../helpers/workspace.ts';

type Run = FileRun;
const run = runFile;

describe('launcher: compiled code, never stale', () => {
  let tmp: TempDir;
  let copy: string;
  const help = (): string => path.join(copy, 'buildchain/cli/help.ts');
  const doit = (...args: string[]): Promise<Run> =>
    run(path.join(copy, 'doit.sh'), args, copy, shellEnv());

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-launcher-');
    copy = path.join(tmp.path, 'repo');
    copyBuildchain(copy);
  });
  afterAll(() => tmp.cleanup());

  it('compiles dist/ on the first start, then runs it', async () => {
    const r = await doit('help');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('usage:');
    expect(r.stderr).toBe('');
    expect(existsSync(path.join(copy, 'dist/buildchain/cli/main.js'))).toBe(true);
    expect(existsSync(path.join(copy, 'dist/.manifest.json'))).toBe(true);
    // Non-TypeScript files of the tree are copied (the stand-in signing key is read at run time).
    expect(
      existsSync(path.join(copy, 'dist/buildchain/sources/embedded/stand-in-signing-key.asc')),
    ).toBe(true);
  });

  it('an edited source is compiled again before it runs', async () => {
    writeFileSync(
      help(),
      `${readFileSync(help(), 'utf8')}\nprocess.stdout.write('EDITED-1\\n');\n`,
    );
    const r = await doit('help');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('EDITED-1');
    expect(readFileSync(path.join(copy, 'dist/buildchain/cli/help.js'), 'utf8')).toContain(
      'EDITED-1',
    );
  });

  it('an edit keeping the size and the mtime is still seen (ctime)', async () => {
    const before = statSync(help());
    // `cp -p` keeps the times to the nanosecond; `touch -r` puts them back after the edit.
    const ref = path.join(tmp.path, 'help.ts.ref');
    execFileSync('cp', ['-p', help(), ref]);
    writeFileSync(help(), readFileSync(help(), 'utf8').replace('EDITED-1', 'EDITED-2'));
    execFileSync('touch', ['-r', ref, help()]);
    const after = statSync(help());
    expect([after.size, after.mtimeMs]).toEqual([before.size, before.mtimeMs]);
    const r = await doit('help');
    expect(r.stdout).toContain('EDITED-2');
    expect(r.stdout).not.toContain('EDITED-1');
  });

  it('a deleted source loses its compiled file', async () => {
    const extra = path.join(copy, 'buildchain/lib/extra-module.ts');
    writeFileSync(extra, 'export const extra = 1;\n');
    expect((await doit('help')).code).toBe(0);
    expect(existsSync(path.join(copy, 'dist/buildchain/lib/extra-module.js'))).toBe(true);
    rmSync(extra);
    expect((await doit('help')).code).toBe(0);
    expect(existsSync(path.join(copy, 'dist/buildchain/lib/extra-module.js'))).toBe(false);
  });

  it('a source that does not compile: its file and line, exit 3, no stack; fixed, it runs', async () => {
    const good = readFileSync(help(), 'utf8');
    writeFileSync(help(), `${good}\nconst = ;\n`);
    const r = await doit('help');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^error: cannot compile buildchain\/cli\/help\.ts:\d+: /);
    expect(r.stderr).toContain('hint: fix the source');
    expect(hasStack(r.stderr)).toBe(false);
    // The last good compile is not kept as if it were current: still refused on the next start.
    expect((await doit('help')).code).toBe(3);
    writeFileSync(help(), good);
    const fixed = await doit('help');
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.stdout).toContain('EDITED-2');
  });

  it('an edit of the compiler recompiles everything', async () => {
    const compiled = path.join(copy, 'dist/buildchain/engine/task.js');
    const before = statSync(compiled);
    const compiler = path.join(copy, 'bin/compile-dist.mjs');
    writeFileSync(compiler, `${readFileSync(compiler, 'utf8')}// edited\n`);
    expect((await doit('help')).code).toBe(0);
    expect(statSync(compiled).ino).not.toBe(before.ino); // written again (temp file + rename)
  });

  it('runs the sources through tsx when dist/ cannot be written, and says so', async () => {
    writeFileSync(
      help(),
      `${readFileSync(help(), 'utf8')}\nprocess.stdout.write('EDITED-3\\n');\n`,
    );
    rmSync(path.join(copy, 'dist'), { recursive: true });
    writeFileSync(path.join(copy, 'dist'), 'not a directory\n');
    try {
      const r = await doit('help');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('EDITED-3');
      expect(r.stderr).toMatch(
        /^note: cannot refresh dist\/ .*running the TypeScript sources with tsx/,
      );
    } finally {
      rmSync(path.join(copy, 'dist'));
    }
  });

  it('the Solution and static-registry bins use the same launcher', async () => {
    const sol = await run('node', [path.join(copy, 'bin/metalk8s-solution.js'), '--help'], copy);
    expect(sol.code, sol.stderr).toBe(0);
    expect(sol.stdout).toContain('metalk8s-solution');
    const reg = await run(
      'node',
      [path.join(copy, 'bin/static-container-registry.js'), '--omit-constants', '--only-constants'],
      copy,
    );
    expect(reg.code).toBe(2);
    expect(existsSync(path.join(copy, 'dist/buildchain/cli/solution.js'))).toBe(true);
  });
});

describe('./doit.sh in this repository', () => {
  let tmp: TempDir;
  let env: NodeJS.ProcessEnv;
  const json = (r: Run): JsonEvent[] => parseNdjson(r.stdout);
  const summary = (r: Run): JsonEvent | undefined => json(r).find((e) => e.event === 'summary');

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-doit-');
    env = shellEnv({ BUILD_ROOT: path.join(tmp.path, 'build') });
  });
  afterAll(() => tmp.cleanup());

  it('takes options before the tasks as given, with no --', async () => {
    const r = await run(
      path.join(REPO_ROOT, 'doit.sh'),
      ['-n', '2', '--dry-run', '--reporter', 'json', 'salt_tree'],
      tmp.path,
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(json(r).find((e) => e.event === 'build-start')).toMatchObject({
      workers: 2,
      dryRun: true,
    });
  });

  it('the compiled and the tsx-run buildchain share their fingerprints', async () => {
    const bySources = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(REPO_ROOT, 'buildchain/cli/bin.ts'),
        '--reporter',
        'json',
        'salt_tree',
      ],
      REPO_ROOT,
      env,
    );
    expect(bySources.code, bySources.stderr).toBe(0);
    expect(summary(bySources)?.counts).toMatchObject({ failed: 0 });
    const compiled = await run(
      path.join(REPO_ROOT, 'doit.sh'),
      ['--reporter', 'json', 'salt_tree'],
      tmp.path,
      env,
    );
    expect(compiled.code, compiled.stderr).toBe(0);
    expect(summary(compiled)?.counts).toMatchObject({ done: 0, failed: 0 });
  });

  it('a TypeScript --tasks-module (a testing hook) runs with the sources', async () => {
    const mod = path.join(tmp.path, 'tasks.mts'); // ESM outside a "type": "module" package
    const task = JSON.stringify(path.join(REPO_ROOT, 'buildchain/engine/task.ts'));
    writeFileSync(
      mod,
      `import { fn, type TaskDefinition } from ${task};\n` +
        `const marker: string = 'ran';\n` +
        `export function createTasks(): TaskDefinition[] {\n` +
        `  return [{ name: 'iso', actions: [fn('say', (ctx) => { ctx.log(marker); })] }];\n}\n`,
    );
    const r = await run(
      path.join(REPO_ROOT, 'doit.sh'),
      ['--tasks-module', mod, '--reporter', 'json', 'iso'],
      tmp.path,
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(summary(r)?.counts).toMatchObject({ done: 1, failed: 0 });
  });
});
