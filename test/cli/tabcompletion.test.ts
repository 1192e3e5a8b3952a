/**
 * `tabcompletion`: the generated bash script loads in a real bash, registers itself for
 * `./doit.sh` and completes task names (colons included) and options; the zsh script loads
 * in a real zsh (compinit) and offers the same names.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingTools } from '../helpers/require-tool.ts';
import { runCli } from '../helpers/run-cli.ts';
import { createWorkspace, type Workspace } from '../helpers/workspace.ts';

const run = promisify(execFile);

const TASKS = `return [
  { name: 'images:pull:calico-node', actions: [sh('true')] },
  { name: 'images:pull:calico-kube-controllers', actions: [sh('true')] },
  { name: 'images:build:salt-master', actions: [sh('true')] },
  { name: 'iso', actions: [sh('true')] },
];`;

describe.skipIf(missingTools('bash', 'zsh').length > 0)('tabcompletion', () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await createWorkspace(TASKS);
  });
  afterAll(async () => {
    await ws.cleanup();
  });

  async function script(shell: string): Promise<string> {
    const r = await runCli(ws, ['tabcompletion', '--shell', shell], { console: true });
    expect(r.code, r.stderr).toBe(0);
    const file = ws.path(`completion.${shell}`);
    writeFileSync(file, r.stdout);
    return file;
  }

  /** What bash completes for the command line `line` (cursor at its end). */
  async function bashComplete(file: string, line: string): Promise<string[]> {
    const r = await run('bash', [
      '-c',
      'source "$1"; complete -p ./doit.sh; COMP_LINE="$2"; COMP_POINT=${#COMP_LINE}; _metalk8s_buildchain; printf "%s\\n" "${COMPREPLY[@]}"',
      'bash',
      file,
      line,
    ]);
    const [registration, ...words] = r.stdout.trimEnd().split('\n');
    expect(registration).toBe('complete -F _metalk8s_buildchain ./doit.sh');
    return words.filter((w) => w !== '').sort();
  }

  it('bash: commands, task and alias names, the part after a colon, options', async () => {
    const file = await script('bash');
    expect(await bashComplete(file, './doit.sh i')).toEqual([
      'ignore',
      'images:build:salt-master',
      'images:pull:calico-kube-controllers',
      'images:pull:calico-node',
      'info',
      'iso',
    ]);
    // bash replaces only what follows the last ':' of the word.
    expect(await bashComplete(file, './doit.sh -n 2 images:pull:calico-n')).toEqual([
      'calico-node',
    ]);
    expect(await bashComplete(file, './doit.sh images:pu')).toEqual([
      'pull:calico-kube-controllers',
      'pull:calico-node',
    ]);
    // MetalK8s 2.4 names (aliases) complete too.
    expect(await bashComplete(file, './doit.sh _image_pull:calico-n')).toEqual(['calico-node']);
    expect(await bashComplete(file, './doit.sh clean --clean-')).toEqual(['--clean-dep']);
  });

  it('zsh: the script loads after compinit, registers and offers the names', async () => {
    const file = await script('zsh');
    const r = await run('zsh', [
      '-f',
      '-c',
      'autoload -U compinit; compinit -u -D; source "$1"; print -r -- "$_comps[./doit.sh]"; ' +
        'compadd() { print -rl -- "${(@P)2}" }; PREFIX=images; _metalk8s_buildchain',
      'zsh',
      file,
    ]);
    const [registration, ...words] = r.stdout.trimEnd().split('\n');
    expect(registration).toBe('_metalk8s_buildchain');
    expect(words).toEqual(
      expect.arrayContaining(['images:pull:calico-node', '_image_pull:calico-node', 'iso']),
    );
  });
});
