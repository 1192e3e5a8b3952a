/**
 * Bad-input audit: the real CLIs on a copy of the repository with one mistake each. Every
 * mistake must exit 2 with a message naming the thing and its fix, never a stack trace.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main as staticRegistryMain } from '../../buildchain/cli/static-registry.ts';
import { runSolutionCli } from '../../buildchain/cli/solution.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { runCliHere, shellEnv } from '../helpers/run-cli.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { copyRepository } from '../helpers/workspace.ts';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `--dry-run iso` with the JSON reporter in `dir` (a repository copy); nothing is built. */
function dryRun(dir: string, env: Record<string, string> = {}): Promise<Run> {
  return runCli(dir, ['--dry-run', 'iso'], env);
}

/**
 * The build CLI with the JSON reporter in `dir` (it finds the copy's content from there; its
 * `main` runs in this process), settings from `env` only.
 */
function runCli(
  dir: string,
  cliArgs: readonly string[],
  env: Record<string, string> = {},
): Promise<Run> {
  return runCliHere(dir, cliArgs, { env: shellEnv(env) });
}

interface Event {
  event: string;
  reason?: string;
  message?: string;
  hint?: string;
}

function events(run: Run): Event[] {
  return run.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Event);
}

function errorEvent(run: Run): { reason?: string; message?: string; hint?: string } {
  return events(run).find((e) => e.event === 'error') ?? {};
}

function expectUsageError(run: Run, reason: string, mentions: RegExp): void {
  expect(run.code, run.stderr).toBe(2);
  expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
  const e = errorEvent(run);
  expect(e.reason).toBe(reason);
  expect(e.message).not.toMatch(/internal error/);
  expect(`${e.message ?? ''} ${e.hint ?? ''}`).toMatch(mentions);
  expect(e.hint ?? '').not.toBe('');
}

describe('bad input: one mistake each, real CLI', () => {
  let tmp: TempDir;
  let repo: string;

  beforeAll(async () => {
    tmp = await makeTempDir('audit-bad-input-');
    repo = path.join(tmp.path, 'repo');
    await copyRepository(repo);
  });
  afterAll(async () => {
    await tmp.cleanup();
  });

  it('a YAML syntax error in images/images.yaml: exit 2 naming the file, no stack', async () => {
    const list = path.join(repo, 'images/images.yaml');
    const good = await readFile(list, 'utf8');
    await writeFile(list, `${good}\n  - name: [oops\n`);
    try {
      expectUsageError(await dryRun(repo), 'invalid-task', /images\/images\.yaml.*YAML/s);
    } finally {
      await writeFile(list, good);
    }
  });

  it.each([
    ['IMAGE_BUILDER', 'foo', /IMAGE_BUILDER/],
    ['IMAGE_PULL_CONNECTIONS', 'many', /IMAGE_PULL_CONNECTIONS=many/],
    ['ISO_ROOT_STRAYS', 'foo', /ISO_ROOT_STRAYS=foo.*remove or fail/s],
    ['SOURCE_DATE_EPOCH', 'yesterday', /SOURCE_DATE_EPOCH/],
  ])('%s=%s: exit 2 invalid-env naming the setting', async (key, value, mentions) => {
    expectUsageError(await dryRun(repo, { [key]: value }), 'invalid-env', mentions);
  });

  it('a malformed REGISTRY_MIRRORS with SOURCES=site: exit 2 invalid-env', async () => {
    const run = await dryRun(repo, { SOURCES: 'site', REGISTRY_MIRRORS: 'garbage' });
    expectUsageError(run, 'invalid-env', /REGISTRY_MIRRORS.*garbage/s);
  });

  it.skipIf(missingTools('checkisomd5', 'isoinfo', 'bsdtar').length > 0)(
    'verify without an ISO: says so and how to get one',
    async () => {
      const run = await runCli(repo, ['verify'], { ISO_VERIFY_PATH: '/nonexistent/audit.iso' });
      expect(run.code, run.stderr).toBe(1);
      const fail = events(run).find((e) => e.event === 'fail');
      expect(fail?.reason).toBe('invalid-input');
      expect(fail?.message).toBe('no ISO to verify at /nonexistent/audit.iso');
      expect(fail?.hint).toMatch(/npm run build iso.*ISO_VERIFY_PATH/);
    },
  );

  it('the repository as is still defines its tasks (control)', async () => {
    const run = await dryRun(repo);
    expect(run.code, run.stderr).toBe(0);
  });
});

describe('bad input: Solution and static-registry command lines', () => {
  it('solution lint/build of a missing directory: exit 2 naming it, no stack', async () => {
    for (const command of ['lint', 'build']) {
      const err: string[] = [];
      const io = { out: () => undefined, err: (t: string) => err.push(t) };
      const code = await runSolutionCli([command, '/nonexistent/audit-solution'], io);
      expect(code).toBe(2);
      expect(err.join('\n')).toMatch(/\/nonexistent\/audit-solution: no such Solution directory/);
      expect(err.join('\n')).toMatch(/hint: .*init/);
      expect(err.join('\n')).not.toMatch(/\n\s+at /);
    }
  });

  it('static-registry on a missing IMAGES_DIR: exit 2 instead of an empty registry', async () => {
    const writes: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = (chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    };
    try {
      expect(await staticRegistryMain(['/nonexistent/audit-images'])).toBe(2);
    } finally {
      process.stderr.write = original;
    }
    expect(writes.join('')).toMatch(/IMAGES_DIR \/nonexistent\/audit-images is not a directory/);
  });
});
