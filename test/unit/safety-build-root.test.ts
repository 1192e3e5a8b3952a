/**
 * BUILD_ROOT must be a dedicated directory (issue 16): resolved with its symlinks followed, it
 * is refused (invalid-env, before anything is written) when it is `/`, a system or home
 * directory, the repository, an ancestor of it or one of its source directories. Settings files
 * that are not regular files are invalid-env too. Only loadConfig is called: no build runs.
 */
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../buildchain/config/load.ts';
import { UsageError } from '../../buildchain/engine/failures.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

let tmp: TempDir;
let repo: string;
let home: string;

function refusal(env: Record<string, string>): UsageError {
  try {
    loadConfig(repo, { HOME: home, ...env });
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error(`BUILD_ROOT=${env.BUILD_ROOT ?? '(default)'} was accepted`);
}

function expectRefused(buildRoot: string, resolved: string, why: RegExp): void {
  const err = refusal({ BUILD_ROOT: buildRoot });
  expect(err.reason).toBe('invalid-env');
  expect(err.message).toContain(`BUILD_ROOT=${buildRoot}`);
  expect(err.message).toContain(resolved);
  expect(err.message).toMatch(why);
  expect(err.hint).toContain('set BUILD_ROOT in .env to a dedicated directory such as _build');
}

beforeEach(async () => {
  tmp = await makeTempDir('mk8s-build-root-');
  repo = path.join(tmp.path, 'repo');
  home = path.join(tmp.path, 'home');
  for (const d of ['salt/metalk8s', 'images', 'buildchain'])
    mkdirSync(path.join(repo, d), { recursive: true });
  mkdirSync(home);
  writeFileSync(path.join(repo, '.env.example'), 'BUILD_ROOT=_build\n');
  writeFileSync(path.join(repo, 'VERSION'), 'x');
});
afterEach(async () => {
  await tmp.cleanup();
});

describe('BUILD_ROOT is refused unless it is a dedicated directory', () => {
  it('refuses / and system directories', () => {
    expectRefused('/', '/', /filesystem root/);
    for (const d of [
      '/etc',
      '/usr',
      '/var',
      '/tmp',
      '/var/tmp',
      '/root',
      '/home',
      '/opt',
      '/boot',
    ]) {
      expectRefused(d, d, /system directory/);
    }
    expectRefused(
      '/usr/share/buildchain',
      '/usr/share/buildchain',
      /inside the system directory \/usr/,
    );
    expectRefused('/etc/x/y', '/etc/x/y', /inside the system directory \/etc/);
  });

  it('refuses home directories: $HOME and any /home/<user>', () => {
    expectRefused(home, home, /home directory/);
    expectRefused('/home/somebody', '/home/somebody', /home directory/);
  });

  it('refuses the repository, an ancestor of it and its source directories', () => {
    expectRefused('.', repo, /the repository itself/);
    expectRefused('..', tmp.path, /contains the repository/);
    expectRefused('salt', path.join(repo, 'salt'), /repository's salt\/ directory/);
    expectRefused('images/x', path.join(repo, 'images/x'), /repository's images\/ directory/);
    expectRefused(path.join(repo, 'buildchain'), path.join(repo, 'buildchain'), /buildchain\//);
  });

  it('follows symlinks: a _build linked to / and a BUILD_ROOT linked to the repository are refused', () => {
    symlinkSync('/', path.join(repo, '_build'));
    const err = refusal({});
    expect(err.reason).toBe('invalid-env');
    expect(err.message).toContain(
      `BUILD_ROOT=_build: ${path.join(repo, '_build')}, resolved to /,`,
    );
    expect(err.message).toContain('filesystem root');
    const link = path.join(tmp.path, 'to-repo');
    symlinkSync(repo, link);
    expectRefused(link, `resolved to ${repo}`, /the repository itself/);
    symlinkSync(path.join(repo, 'salt'), path.join(tmp.path, 'to-salt'));
    expectRefused(
      path.join(tmp.path, 'to-salt', 'out'),
      `resolved to ${path.join(repo, 'salt/out')}`,
      /salt\//,
    );
    // Nothing was created by the refusals.
    expect(readdirSync(repo).sort()).toEqual([
      '.env.example',
      'VERSION',
      '_build',
      'buildchain',
      'images',
      'salt',
    ]);
    expect(readdirSync(home)).toEqual([]);
  });

  it('accepts the default _build, a directory inside it and a dedicated directory elsewhere', () => {
    const cfg = (v?: string): string =>
      loadConfig(repo, { HOME: home, ...(v === undefined ? {} : { BUILD_ROOT: v }) }).buildRoot;
    expect(cfg()).toBe(path.join(repo, '_build'));
    expect(cfg('_build/sub')).toBe(path.join(repo, '_build/sub'));
    expect(cfg(path.join(tmp.path, 'out'))).toBe(path.join(tmp.path, 'out'));
    expect(cfg('out')).toBe(path.join(repo, 'out'));
    // A directory of the repository used as BUILD_ROOT before (it holds the engine state).
    mkdirSync(path.join(repo, 'out/.buildchain'), { recursive: true });
    expect(cfg('out')).toBe(path.join(repo, 'out'));
  });
});

describe('settings files that are not regular files', () => {
  it('.env being a directory is invalid-env naming it, with the fix', () => {
    mkdirSync(path.join(repo, '.env'));
    const err = refusal({});
    expect(err.reason).toBe('invalid-env');
    expect(err.message).toBe(`${path.join(repo, '.env')} is a directory, not a regular file`);
    expect(err.hint).toContain('a readable regular file of KEY=value lines');
  });

  it('.env linked to a device is invalid-env (never read)', () => {
    symlinkSync('/dev/zero', path.join(repo, '.env'));
    const err = refusal({});
    expect(err.message).toBe(`${path.join(repo, '.env')} is a device, not a regular file`);
  });

  it('an unreadable .env.example (here a directory) is invalid-env naming it', () => {
    const other = path.join(tmp.path, 'other');
    mkdirSync(path.join(other, '.env.example'), { recursive: true });
    let err: unknown;
    try {
      loadConfig(other, { HOME: home });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).reason).toBe('invalid-env');
    expect((err as UsageError).message).toBe(
      `${path.join(other, '.env.example')} is a directory, not a regular file`,
    );
    expect((err as UsageError).hint).toContain('restore .env.example');
  });
});
