import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { TaskError } from '../../buildchain/engine/task.ts';
import {
  bootstrapConfiguration,
  DEFAULT_NETWORK,
  renderBootstrapYaml,
} from '../../buildchain/tasks/vagrant/bootstrap-config.ts';
import { splitShellWords } from '../../buildchain/tasks/vagrant/shell-words.ts';
import { renderVagrantfile, rubyString } from '../../buildchain/tasks/vagrant/vagrantfile.ts';

describe('VAGRANT_UP_ARGS splitting', () => {
  it('splits like sh, with quotes, escapes and variables', () => {
    expect(
      splitShellWords('--provision  --provider $VAGRANT_PROVIDER', {
        VAGRANT_PROVIDER: 'virtualbox',
      }),
    ).toEqual(['--provision', '--provider', 'virtualbox']);
    expect(splitShellWords(`--name "my vm" 'a $X' b\\ c "\${X}y" ""`, { X: 'x' })).toEqual([
      '--name',
      'my vm',
      'a $X',
      'b c',
      'xy',
      '',
    ]);
    expect(splitShellWords('a $UNSET b')).toEqual(['a', 'b']);
    expect(splitShellWords('   ')).toEqual([]);
  });
  it('rejects an unbalanced quote as invalid-input', () => {
    expect(() => splitShellWords('--name "oops', {}, 'VAGRANT_UP_ARGS')).toThrow(TaskError);
    expect(() => splitShellWords("'x")).toThrow(/unbalanced quote/);
  });
});

describe('bootstrap.yaml', () => {
  it('is a v1alpha2 BootstrapConfiguration with networks, ca, apiServer and the ISO as archive', () => {
    const doc = parse(
      renderBootstrapYaml(bootstrapConfiguration('/srv/metalk8s-build/metalk8s.iso')),
    ) as Record<string, unknown>;
    expect(doc).toEqual({
      apiVersion: 'metalk8s.scality.com/v1alpha2',
      kind: 'BootstrapConfiguration',
      networks: { controlPlane: '172.21.254.0/28', workloadPlane: '172.21.254.32/27' },
      ca: { minion: 'bootstrap' },
      apiServer: { host: '172.21.254.12' },
      archives: ['/srv/metalk8s-build/metalk8s.iso'],
    });
  });
});

describe('Vagrantfile', () => {
  const text = renderVagrantfile({
    version: '2.4.0-beta1',
    buildRoot: "/it's/_build",
    box: 'centos/7',
    memoryMiB: 4096,
    cpus: 2,
    network: DEFAULT_NETWORK,
    nodes: 3,
  });
  it('mounts BUILD_ROOT, defines the bootstrap VM and N extra nodes, and runs bootstrap.sh', () => {
    expect(text).toContain("BUILD_ROOT = '/it\\'s/_build'");
    expect(text).toContain('machine.vm.synced_folder BUILD_ROOT, BUILD_MOUNT');
    expect(text).toContain("config.vm.define 'bootstrap', primary: true");
    expect(text).toContain('(1..3).each do |i|');
    expect(text).toContain('"$MOUNTPOINT/bootstrap.sh"');
    expect(text).toContain('source #{BUILD_MOUNT}/root/product.txt');
  });
  it('quotes Ruby strings', () => {
    expect(rubyString("a'b\\c")).toBe("'a\\'b\\\\c'");
  });
});
