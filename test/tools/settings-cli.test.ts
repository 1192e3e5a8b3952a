/**
 * Settings at the command lines: defining the graph (`list`, `info`, `--dry-run`) starts no git
 * for the build timestamp, a run still gets the commit time, and every command (build,
 * solution, static-registry, report) refuses a bad setting with exit 2 and the same message.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMainInProcess } from '../helpers/cli-in-process.ts';
import { fakeTool } from '../helpers/fake-tool.ts';
import { shellEnv, spawnCliIn } from '../helpers/run-cli.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { REPO_ROOT } from '../helpers/workspace.ts';

const BAD_EPOCH =
  "SOURCE_DATE_EPOCH='yesterday' is not a whole number of seconds from 0 to 4294967295 (1970-01-01 to 2106-02-07 UTC)";

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `node --import tsx buildchain/cli/<script>` at the repository root, as `npm run <script>` does. */
function runScript(
  script: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<Run> {
  return spawnCliIn(REPO_ROOT, args, {
    env: shellEnv(env),
    console: true,
    main: path.join(REPO_ROOT, 'buildchain/cli', script),
  }).done;
}

describe('the build timestamp is resolved lazily', () => {
  let tmp: TempDir;
  let gitLog: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-settings-cli-');
    const bin = path.join(tmp.path, 'bin');
    await mkdir(bin);
    gitLog = path.join(tmp.path, 'git-calls.log');
    // Records every call, then runs the real git.
    const git = fakeTool(bin, 'git-recorder', { body: `echo "$*" >> '${gitLog}'\nexec git "$@"` });
    env = { GIT_BIN: git, BUILD_ROOT: path.join(tmp.path, 'build') };
  });
  afterAll(async () => {
    await tmp.cleanup();
  });

  const calls = (): string[] =>
    existsSync(gitLog) ? readFileSync(gitLog, 'utf8').trim().split('\n') : [];

  it.each([[['list']], [['info', 'iso']], [['--dry-run', 'iso']]])(
    '%j starts no git',
    async (args) => {
      const r = await runMainInProcess(REPO_ROOT, ['--reporter', 'json', ...args], shellEnv(env));
      expect(r.code, r.stderr).toBe(0);
      expect(calls()).toEqual([]);
    },
  );

  it('a run writes the last commit time into product.txt (git run by the action)', async () => {
    const r = await runMainInProcess(
      REPO_ROOT,
      ['--reporter', 'json', 'iso-root:product'],
      shellEnv(env),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(calls()).toContain(`-C ${REPO_ROOT} log -1 --format=%ct`);
    // A checkout without .git (an exported tree) falls back to the mtime of VERSION.
    const commitTime = await runScriptGit(['-C', REPO_ROOT, 'log', '-1', '--format=%ct']);
    const seconds = /^\d+$/.test(commitTime)
      ? Number(commitTime)
      : Math.floor(statSync(path.join(REPO_ROOT, 'VERSION')).mtimeMs / 1000);
    const product = readFileSync(path.join(env.BUILD_ROOT ?? '', 'root', 'product.txt'), 'utf8');
    const stamp = new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    expect(product).toContain(`BUILD_TIMESTAMP=${stamp}\n`);
  });
});

/** stdout of the real git. */
function runScriptGit(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => {
      resolve(out.trim());
    });
  });
}

describe('every command validates the settings the same way', () => {
  let tmp: TempDir;
  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-settings-cmd-');
  });
  afterAll(async () => {
    await tmp.cleanup();
  });

  const expectBadEpoch = (r: Run): void => {
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`error: ${BAD_EPOCH}`);
    expect(r.stderr).toMatch(/hint: set SOURCE_DATE_EPOCH to an integer/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  };

  it('build: invalid-env, exit 2', async () => {
    const r = await runMainInProcess(
      REPO_ROOT,
      ['--reporter', 'json', 'list'],
      shellEnv({ SOURCE_DATE_EPOCH: 'yesterday' }),
    );
    expect(r.code).toBe(2);
    const error = r.stdout
      .split('\n')
      .filter((l) => l.includes('"event":"error"'))
      .map((l) => JSON.parse(l) as Record<string, string>)[0];
    expect(error).toMatchObject({ reason: 'invalid-env', message: BAD_EPOCH });
  });

  it('solution build DIR: exit 2 with the same message (was a RangeError, exit 3)', async () => {
    expectBadEpoch(
      await runScript('solution.ts', ['build', tmp.path], { SOURCE_DATE_EPOCH: 'yesterday' }),
    );
  });

  it('solution lint DIR: exit 2 for another bad key', async () => {
    const r = await runScript('solution.ts', ['lint', tmp.path], { IMAGE_BUILDER: 'foo' });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('error: IMAGE_BUILDER=foo is not buildah, podman or docker');
  });

  it('static-registry: exit 2 with the same message; accepted otherwise', async () => {
    const bad = await runScript('static-registry.ts', ['--only-constants'], {
      SOURCE_DATE_EPOCH: 'yesterday',
    });
    expectBadEpoch(bad);
    expect(bad.stdout).toBe('');
    const good = await runScript('static-registry.ts', ['--only-constants'], {});
    expect(good.code, good.stderr).toBe(0);
  });

  it('report: exit 2 with the same message; accepted otherwise (then a missing report is 1)', async () => {
    const missing = path.join(tmp.path, 'missing.json');
    expectBadEpoch(
      await runScript('report.ts', ['compare', missing, missing], {
        SOURCE_DATE_EPOCH: 'yesterday',
      }),
    );
    const good = await runScript('report.ts', ['compare', missing, missing], {});
    expect(good.code, good.stderr).toBe(1);
  });
});
