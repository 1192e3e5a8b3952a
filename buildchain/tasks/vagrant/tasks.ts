/**
 * The Vagrant development cluster: `vagrant:generate` writes the pre-shared SSH key pair,
 * bootstrap.yaml and a Vagrantfile into `.vagrant/` (no Vagrant needed); `vagrant_up` starts
 * the bootstrap VM with VAGRANT_UP_ARGS after `iso` and the clean-state snapshot
 * (`vagrant_snapshot`); `vagrant_restore` goes back to that snapshot.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { BuildConfig } from '../../config/config.ts';
import { execDirect } from '../../engine/exec/run-command.ts';
import {
  cmd,
  fn,
  TaskError,
  type ActionContext,
  type FunctionAction,
  type TaskDefinition,
} from '../../engine/task.ts';
import { hasVersionFile, readVersionFile } from '../../config/version.ts';
import type { Sources } from '../../sources/sources.ts';
import {
  bootstrapConfiguration,
  DEFAULT_NETWORK,
  renderBootstrapYaml,
} from './bootstrap-config.ts';
import { tempPathFor, writeFileAtomic } from '../../lib/fs/atomic-write.ts';
import { splitShellWords } from './shell-words.ts';
import {
  BOOTSTRAP_FILE,
  BUILD_MOUNT,
  KEY_FILE,
  renderVagrantfile,
  type VagrantfileOptions,
} from './vagrantfile.ts';

const BOOTSTRAP_VM = 'bootstrap';

/** True when `bin` is a path to a file or found on PATH. */
export function isOnPath(bin: string, pathEnv = process.env.PATH ?? ''): boolean {
  if (bin.includes('/')) return existsSync(bin);
  return pathEnv.split(path.delimiter).some((d) => d !== '' && existsSync(path.join(d, bin)));
}

function requireBin(bin: string, envKey: string, hint: string): void {
  if (!isOnPath(bin))
    throw new TaskError('tool-not-found', `${bin} not found (${envKey}=${bin})`, { hint });
}

const VAGRANT_HINT =
  'install Vagrant (1.8 or later) and VirtualBox, or set VAGRANT_BIN; `npm run build vagrant:generate` writes the files without them';

/** Settings of the Vagrant tasks, resolved from the config. */
export interface VagrantSettings {
  /** `<root>/.vagrant`: key pair, bootstrap.yaml, Vagrantfile (VAGRANT_CWD). */
  readonly dir: string;
  readonly vagrantBin: string;
  readonly sshKeygenBin: string;
  readonly upArgs: readonly string[];
  readonly snapshotName: string;
  readonly vagrantfile: VagrantfileOptions;
  /** ISO path inside the VMs (bootstrap.yaml archives). */
  readonly isoInVm: string;
}

function readVersion(root: string): string {
  if (hasVersionFile(root)) return readVersionFile(root).full;
  return (
    (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: string })
      .version ?? '0.0.0'
  );
}

/** Resolves the settings (VAGRANT_* keys, tools, version). */
export function vagrantSettings(config: BuildConfig): VagrantSettings {
  const v = config.settings.vagrant;
  const provider = v.provider;
  const upArgs = splitShellWords(
    v.upArgs || '--provision --no-destroy-on-error --parallel --provider $VAGRANT_PROVIDER',
    { ...config.env, VAGRANT_PROVIDER: provider },
    'VAGRANT_UP_ARGS',
  );
  return {
    dir: path.join(config.root, '.vagrant'),
    vagrantBin: config.tools.vagrant?.bin ?? 'vagrant',
    sshKeygenBin: v.sshKeygenBin,
    upArgs,
    snapshotName: v.snapshotName,
    isoInVm: `${BUILD_MOUNT}/${config.projectName.toLowerCase()}.iso`,
    vagrantfile: {
      version: readVersion(config.root),
      buildRoot: config.buildRoot,
      box: v.box,
      memoryMiB: v.memoryMiB,
      cpus: v.cpus,
      network: DEFAULT_NETWORK,
      nodes: v.nodes,
    },
  };
}

/** A `vagrant ...` action run in `.vagrant/` (VAGRANT_CWD), failing clearly without vagrant. */
function vagrantAction(s: VagrantSettings, args: readonly string[]): FunctionAction {
  return fn(`vagrant ${JSON.stringify(args)}`, async (ctx: ActionContext) => {
    requireBin(s.vagrantBin, 'VAGRANT_BIN', VAGRANT_HINT);
    await ctx.exec([s.vagrantBin, ...args], { env: { VAGRANT_CWD: s.dir } });
  });
}

function keyTask(s: VagrantSettings): TaskDefinition {
  const key = path.join(s.dir, KEY_FILE);
  return {
    name: 'vagrant:_key',
    doc: 'generate the pre-shared SSH key pair of the Vagrant nodes',
    targets: [key, `${key}.pub`],
    uptodate: [true],
    actions: [
      fn('vagrant-key rsa-4096', async (ctx) => {
        requireBin(
          s.sshKeygenBin,
          'SSH_KEYGEN_BIN',
          'install openssh-client (npm run setup) or set SSH_KEYGEN_BIN',
        );
        await mkdir(s.dir, { recursive: true });
        const tmp = tempPathFor(key);
        await rm(tmp, { force: true });
        await rm(`${tmp}.pub`, { force: true });
        await ctx.exec([
          s.sshKeygenBin,
          '-q',
          '-t',
          'rsa',
          '-b',
          '4096',
          '-N',
          '',
          '-C',
          'metalk8s-vagrant',
          '-f',
          tmp,
        ]);
        await rename(`${tmp}.pub`, `${key}.pub`);
        await rename(tmp, key);
      }),
    ],
    clean: true,
  };
}

function fileTask(
  name: string,
  doc: string,
  file: string,
  label: string,
  render: () => string,
): TaskDefinition {
  return {
    name,
    doc,
    targets: [file],
    actions: [
      fn(label, async () => {
        await writeFileAtomic(file, render(), { mkdir: true });
      }),
    ],
    clean: true,
  };
}

/** Vagrant tasks; only `vagrant_up`, `vagrant_snapshot` and `vagrant_restore` need Vagrant. */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- factory contract; the VMs use the built ISO
export function createVagrantTasks(config: BuildConfig, sources: Sources): TaskDefinition[] {
  const s = vagrantSettings(config);
  const bootstrap = bootstrapConfiguration(s.isoInVm);
  const env = { VAGRANT_CWD: s.dir };
  const noProvisionArgs = [...s.upArgs.filter((a) => a !== '--provision'), '--no-provision'];
  return [
    keyTask(s),
    fileTask(
      'vagrant:_bootstrap_yaml',
      'write .vagrant/bootstrap.yaml',
      path.join(s.dir, BOOTSTRAP_FILE),
      `bootstrap-yaml ${JSON.stringify(bootstrap)}`,
      () => renderBootstrapYaml(bootstrap),
    ),
    fileTask(
      'vagrant:_vagrantfile',
      'write .vagrant/Vagrantfile',
      path.join(s.dir, 'Vagrantfile'),
      `vagrantfile ${JSON.stringify(s.vagrantfile)}`,
      () => renderVagrantfile(s.vagrantfile),
    ),
    {
      name: 'vagrant:generate',
      doc: 'write the SSH key pair, bootstrap.yaml and the Vagrantfile into .vagrant/ (no Vagrant needed)',
      taskDeps: ['vagrant:_key', 'vagrant:_bootstrap_yaml', 'vagrant:_vagrantfile'],
    },
    {
      name: 'vagrant_snapshot',
      doc: `create the bootstrap VM without provisioning and snapshot it (${s.snapshotName})`,
      taskDeps: ['vagrant:generate'],
      tools: ['vagrant'],
      uptodate: [() => hasSnapshot(s)],
      actions: [
        vagrantAction(s, ['up', ...noProvisionArgs]),
        vagrantAction(s, ['halt', BOOTSTRAP_VM]),
        vagrantAction(s, ['snapshot', 'save', '--force', BOOTSTRAP_VM, s.snapshotName]),
      ],
      verbose: true,
    },
    {
      name: 'vagrant_up',
      doc: 'spawn the development cluster: bootstrap VM provisioned from the built ISO (VAGRANT_UP_ARGS)',
      taskDeps: ['vagrant:generate', 'iso', 'vagrant_snapshot'],
      fileDeps: [path.join(s.dir, KEY_FILE)],
      tools: ['vagrant'],
      uptodate: [false],
      actions: [vagrantAction(s, ['up', ...s.upArgs])],
      clean: [cmd([s.vagrantBin, 'destroy', '--force'], { env })],
      verbose: true,
    },
    {
      name: 'vagrant_restore',
      doc: `restore the bootstrap VM to the snapshot ${s.snapshotName}`,
      tools: ['vagrant'],
      uptodate: [false],
      actions: [vagrantAction(s, ['snapshot', 'restore', BOOTSTRAP_VM, s.snapshotName])],
      verbose: true,
    },
  ];
}

/** Up-to-date check of vagrant_snapshot: true when `vagrant snapshot list` shows the snapshot. */
function hasSnapshot(s: VagrantSettings): Promise<boolean | string> {
  if (!isOnPath(s.vagrantBin)) return Promise.resolve('vagrant not found');
  return execDirect([s.vagrantBin, 'snapshot', 'list', BOOTSTRAP_VM], {
    env: { VAGRANT_CWD: s.dir },
    reject: false,
  }).then(
    (r) =>
      r.exitCode === 0 && r.stdout.split('\n').some((l) => l.trim() === s.snapshotName)
        ? true
        : `no snapshot ${s.snapshotName}`,
    () => `no snapshot ${s.snapshotName}`,
  );
}
