/**
 * The one build-timestamp rule (config/build-info.ts): SOURCE_DATE_EPOCH, else the last commit
 * time, else the mtime of VERSION. The key naming it is read from files (no process); git runs
 * once, when the epoch itself is asked for.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildEpoch,
  buildEpochKey,
  commitTimeOrMtime,
  headCommit,
} from '../../buildchain/config/build-info.ts';
import { execDirect } from '../../buildchain/engine/exec/run-command.ts';
import { testConfig } from '../helpers/config.ts';
import { fakeTool } from '../helpers/fake-tool.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

describe('build epoch', () => {
  let tmp: TempDir;
  let repo: string;
  let gitBin: string;
  let gitLog: string;

  const git = (args: string[], date?: number): string =>
    execFileSync('git', ['-C', repo, ...args], {
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 't',
        GIT_AUTHOR_EMAIL: 't@example.com',
        GIT_COMMITTER_NAME: 't',
        GIT_COMMITTER_EMAIL: 't@example.com',
        ...(date === undefined
          ? {}
          : {
              GIT_COMMITTER_DATE: `@${String(date)} +0000`,
              GIT_AUTHOR_DATE: `@${String(date)} +0000`,
            }),
      },
    })
      .toString()
      .trim();
  const calls = (): string[] =>
    existsSync(gitLog) ? readFileSync(gitLog, 'utf8').trim().split('\n') : [];

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-build-epoch-');
    repo = path.join(tmp.path, 'repo');
    await mkdir(repo);
    await writeFile(path.join(repo, 'VERSION'), 'VERSION_MAJOR=2\n');
    await mkdir(path.join(tmp.path, 'bin'));
    gitLog = path.join(tmp.path, 'git-calls.log');
    gitBin = fakeTool(path.join(tmp.path, 'bin'), 'git-recorder', {
      body: `echo "$*" >> '${gitLog}'\nexec git "$@"`,
    });
  });
  afterAll(async () => {
    await tmp.cleanup();
  });

  it('without git: the mtime of VERSION, named without running anything', async () => {
    await utimes(path.join(repo, 'VERSION'), 1_500_000_000, 1_500_000_000);
    const config = testConfig(repo, { GIT_BIN: gitBin });
    expect(buildEpochKey(config)).toBe('VERSION mtime 1500000000');
    expect(calls()).toEqual([]);
    expect(await buildEpoch(config)).toBe(1_500_000_000);
  });

  it('SOURCE_DATE_EPOCH wins and never runs git', async () => {
    const before = calls().length;
    const config = testConfig(repo, { GIT_BIN: gitBin, SOURCE_DATE_EPOCH: '1700000000' });
    expect(buildEpochKey(config)).toBe('SOURCE_DATE_EPOCH=1700000000');
    expect(await buildEpoch(config)).toBe(1_700_000_000);
    expect(calls().length).toBe(before);
  });

  it('in git: the key is the HEAD commit (loose or packed ref), the epoch its time, git run once', async () => {
    git(['init', '-q', '-b', 'main']);
    git(['add', 'VERSION']);
    git(['commit', '-q', '-m', 'one'], 1_600_000_000);
    const sha = git(['rev-parse', 'HEAD']);
    const config = testConfig(repo, { GIT_BIN: gitBin });
    const before = calls().length;
    expect(headCommit(repo)).toBe(sha);
    expect(buildEpochKey(config)).toBe(`git ${sha}`);
    expect(calls().length).toBe(before);
    expect(await buildEpoch(config)).toBe(1_600_000_000);
    expect(await buildEpoch(config)).toBe(1_600_000_000);
    expect(calls().slice(before)).toEqual([`-C ${repo} log -1 --format=%ct`]);
    git(['pack-refs', '--all']);
    expect(existsSync(path.join(repo, '.git', 'refs', 'heads', 'main'))).toBe(false);
    expect(headCommit(repo)).toBe(sha);
  });

  it('a new commit gives a new key and the new time', async () => {
    await writeFile(path.join(repo, 'VERSION'), 'VERSION_MAJOR=3\n');
    git(['commit', '-q', '-am', 'two'], 1_600_000_100);
    const config = testConfig(repo, { GIT_BIN: gitBin });
    expect(buildEpochKey(config)).toBe(`git ${git(['rev-parse', 'HEAD'])}`);
    expect(await buildEpoch(config)).toBe(1_600_000_100);
  });

  it('the same rule on another directory (a Solution): its commit time, else the mtime of its file', async () => {
    const solution = path.join(tmp.path, 'solution');
    await mkdir(solution);
    const file = path.join(solution, 'solution.yaml');
    await writeFile(file, 'name: x\n');
    await utimes(file, 1_400_000_000, 1_400_000_000);
    expect(await commitTimeOrMtime(execDirect, gitBin, solution, file)).toBe(1_400_000_000);
    expect(
      await commitTimeOrMtime(execDirect, path.join(tmp.path, 'no-such-git'), repo, file),
    ).toBe(1_400_000_000);
    expect(await commitTimeOrMtime(execDirect, gitBin, repo, file)).toBe(1_600_000_100);
  });

  it('a detached HEAD names its commit', () => {
    const sha = git(['rev-parse', 'HEAD~1']);
    git(['checkout', '-q', '--detach', sha]);
    expect(headCommit(repo)).toBe(sha);
  });
});
