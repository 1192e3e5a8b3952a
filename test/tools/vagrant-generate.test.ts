/**
 * The Vagrant tasks without Vagrant: the generated key pair (ssh-keygen), bootstrap.yaml and
 * Vagrantfile (`ruby -c`), generated on the engine, and `vagrant_up` failing with
 * tool-not-found (its actions called directly: on the engine it would build the ISO first).
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildConfig } from '../../buildchain/config/config.ts';
import { TaskError } from '../../buildchain/engine/task.ts';
import type { Sources } from '../../buildchain/sources/sources.ts';
import { createVagrantTasks } from '../../buildchain/tasks/vagrant/tasks.ts';
import { testConfig, withEnv } from '../helpers/config.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { runOnEngine } from '../helpers/engine-run.ts';
import { localExec, runTask, taskNamed } from './lint-helpers.ts';

describe.skipIf(missingTools('ssh-keygen', 'ruby').length > 0)('vagrant tasks', () => {
  let ws: TempDir;
  let config: BuildConfig;
  beforeAll(async () => {
    ws = await makeTempDir('mk8s-vagrant-');
    await writeFile(
      path.join(ws.path, 'VERSION'),
      'VERSION_MAJOR=2\nVERSION_MINOR=4\nVERSION_PATCH=0\nVERSION_SUFFIX=-beta1\n',
    );
    const env = { VAGRANT_BIN: path.join(ws.path, 'no-such-vagrant'), VAGRANT_NODES: '2' };
    config = testConfig(ws.path, env);
    // The generating tasks alone: the graph of every Vagrant task needs the ISO's.
    const generating = createVagrantTasks(config, {} as Sources).filter((t) =>
      t.name.startsWith('vagrant:_'),
    );
    const r = await runOnEngine(config, generating, [
      'vagrant:_key',
      'vagrant:_bootstrap_yaml',
      'vagrant:_vagrantfile',
    ]);
    expect(r.exitCode, r.failures.join('\n')).toBe(0);
  });
  afterAll(async () => {
    await ws.cleanup();
  });

  it('generates an RSA 4096 key pair readable by ssh-keygen, private key mode 0600', async () => {
    const key = path.join(ws.path, '.vagrant/preshared_key_for_k8s_nodes');
    expect((await stat(key)).mode & 0o777).toBe(0o600);
    const fp = await localExec(['ssh-keygen', '-l', '-f', `${key}.pub`]);
    expect(fp.stdout).toMatch(/^4096 SHA256:\S+ metalk8s-vagrant \(RSA\)/);
    const derived = await localExec(['ssh-keygen', '-y', '-f', key]);
    expect((await readFile(`${key}.pub`, 'utf8')).startsWith(derived.stdout.trim())).toBe(true);
  });

  it('writes bootstrap.yaml with the required BootstrapConfiguration fields', async () => {
    const doc = parse(
      await readFile(path.join(ws.path, '.vagrant/bootstrap.yaml'), 'utf8'),
    ) as Record<string, Record<string, string> | string | string[]>;
    expect(doc.apiVersion).toBe('metalk8s.scality.com/v1alpha2');
    expect(doc.kind).toBe('BootstrapConfiguration');
    expect(doc.networks).toEqual({
      controlPlane: '172.21.254.0/28',
      workloadPlane: '172.21.254.32/27',
    });
    expect(doc.ca).toEqual({ minion: 'bootstrap' });
    expect(doc.apiServer).toEqual({ host: '172.21.254.12' });
    expect(doc.archives).toEqual(['/srv/metalk8s-build/metalk8s.iso']);
  });

  it('writes a Vagrantfile that ruby parses, mounting this BUILD_ROOT', async () => {
    const file = path.join(ws.path, '.vagrant/Vagrantfile');
    expect((await localExec(['ruby', '-c', file])).stdout).toContain('Syntax OK');
    const text = await readFile(file, 'utf8');
    expect(text).toContain(`BUILD_ROOT = '${config.buildRoot}'`);
    expect(text).toContain("VERSION = '2.4.0-beta1'");
    expect(text).toContain('(1..2).each');
  });

  it('vagrant_up and vagrant_restore fail with tool-not-found naming VAGRANT_BIN', async () => {
    const tasks = createVagrantTasks(config, {} as Sources);
    for (const name of ['vagrant_up', 'vagrant_restore']) {
      const task = taskNamed(tasks, name);
      expect(task.tools).toEqual(['vagrant']);
      const err = await runTask(task, ws.path).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TaskError);
      expect((err as TaskError).reason).toBe('tool-not-found');
      expect((err as TaskError).message).toContain('VAGRANT_BIN=');
      expect((err as TaskError).hint).toContain('vagrant:generate');
    }
    expect(taskNamed(tasks, 'vagrant_up').taskDeps).toEqual([
      'vagrant:generate',
      'iso',
      'vagrant_snapshot',
    ]);
  });

  it('splits VAGRANT_UP_ARGS into the vagrant up argv (default with VAGRANT_PROVIDER)', () => {
    const tasks = createVagrantTasks(
      withEnv(config, { ...config.env, VAGRANT_PROVIDER: 'libvirt' }),
      {} as Sources,
    );
    const label = taskNamed(tasks, 'vagrant_up').actions?.[0];
    expect(label?.kind === 'function' ? label.label : '').toBe(
      'vagrant ["up","--provision","--no-destroy-on-error","--parallel","--provider","libvirt"]',
    );
    const snap = taskNamed(tasks, 'vagrant_snapshot').actions?.[0];
    expect(snap?.kind === 'function' ? snap.label : '').toBe(
      'vagrant ["up","--no-destroy-on-error","--parallel","--provider","libvirt","--no-provision"]',
    );
  });
});
