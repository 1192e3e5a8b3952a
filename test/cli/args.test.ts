/** doit's command line as `./doit.sh` users type it, parsed (no `--` anywhere). */
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../buildchain/cli/args.ts';

describe('parseArgs (doit spellings)', () => {
  it('run options before tasks', () => {
    expect(parseArgs(['-n', '4', 'iso'])).toMatchObject({
      command: 'run',
      workers: 4,
      tasks: ['iso'],
    });
    expect(parseArgs(['-a', 'iso'])).toMatchObject({ alwaysMake: true, all: false });
  });
  it('list --all, -p, --status, --deps, -q', () => {
    expect(parseArgs(['list', '--all', '-p', '--status', '--deps', '-q'])).toMatchObject({
      command: 'list',
      all: true,
      private: true,
      status: true,
      deps: true,
      quiet: true,
    });
  });
  it('clean: -n is --dry-run, -a is --all, -c is --clean-dep', () => {
    expect(parseArgs(['clean', '-n', 'images'])).toMatchObject({
      command: 'clean',
      dryRun: true,
      workers: 1,
      tasks: ['images'],
    });
    expect(parseArgs(['clean', '-a'])).toMatchObject({ all: true, alwaysMake: false });
    expect(parseArgs(['clean', '--clean-all'])).toMatchObject({ all: true });
    expect(parseArgs(['clean', '-c', 'iso'])).toMatchObject({ cleanDep: true, tasks: ['iso'] });
  });
  it('ignore, tabcompletion --shell', () => {
    expect(parseArgs(['ignore', 'a', 'b'])).toMatchObject({ command: 'ignore', tasks: ['a', 'b'] });
    expect(parseArgs(['tabcompletion'])).toMatchObject({ command: 'tabcompletion', shell: 'bash' });
    expect(parseArgs(['tabcompletion', '--shell=zsh'])).toMatchObject({ shell: 'zsh' });
  });
  it('mistakes name the fix', () => {
    expect(() => parseArgs(['ignore'])).toThrow('ignore needs at least one task name');
    expect(() => parseArgs(['tabcompletion', '--shell', 'fish'])).toThrow(
      '--shell must be bash or zsh, got fish',
    );
    expect(() => parseArgs(['--bogus'])).toThrow('unknown option --bogus');
  });
});
