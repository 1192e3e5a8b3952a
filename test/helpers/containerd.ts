/**
 * A private containerd for pull tests: root, state, opt and the gRPC/ttrpc sockets under a temp
 * directory, the CRI plugin disabled (no kubelet here), its own process group, stopped by pid
 * in afterAll (and killed on exit as a last resort). Talk to it with `ctr --address`.
 */
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { startDetached } from '../../buildchain/engine/exec/detached.ts';
import { killGroup } from '../../buildchain/engine/exec/process-group.ts';
import { isGroupAlive, serverEnv } from '../../buildchain/sources/embedded/servers.ts';

/** A running private containerd. */
export interface TestContainerd {
  /** The gRPC socket, for `ctr --address`. */
  readonly address: string;
  readonly pid: number;
  /** Runs `ctr --address <sock> ...args`. */
  ctr(args: readonly string[]): Promise<string>;
  /** SIGTERM to the group, SIGKILL after 5 s. Idempotent. */
  stop(): Promise<void>;
}

async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** Starts containerd with a private config under `dir` (an absolute, short path). */
export async function startTestContainerd(dir: string): Promise<TestContainerd> {
  await mkdir(dir, { recursive: true });
  const address = path.join(dir, 'c.sock');
  const config = path.join(dir, 'config.toml');
  // JSON strings are valid TOML basic strings.
  const s = (p: string): string => JSON.stringify(p);
  await writeFile(
    config,
    [
      'version = 2',
      `root = ${s(path.join(dir, 'root'))}`,
      `state = ${s(path.join(dir, 'state'))}`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = ${s(address)}`,
      '[ttrpc]',
      `  address = ${s(`${address}.ttrpc`)}`,
      '[debug]',
      '  address = ""',
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = ${s(path.join(dir, 'opt'))}`,
      '',
    ].join('\n'),
  );
  const log = path.join(dir, 'containerd.log');
  const fd = openSync(log, 'a');
  let child;
  try {
    child = startDetached(['containerd', '--config', config], { outputFd: fd, env: serverEnv() });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined)
    throw new Error(`containerd did not start: ${String(await child.spawnError)}`);
  const onExit = (): void => {
    killGroup(pid, 'SIGKILL');
  };
  process.on('exit', onExit);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    killGroup(pid, 'SIGTERM');
    if (!(await until(() => Promise.resolve(!isGroupAlive(pid)), 5000))) {
      killGroup(pid, 'SIGKILL');
      await until(() => Promise.resolve(!isGroupAlive(pid)), 2000);
    }
    process.off('exit', onExit);
  };
  const ctr = async (args: readonly string[]): Promise<string> =>
    (await execa('ctr', ['--address', address, ...args])).stdout;
  const ready = await until(
    () =>
      ctr(['version']).then(
        () => true,
        () => false,
      ),
    15_000,
  );
  if (!ready) {
    await stop();
    const text = await readFile(log, 'utf8').catch(() => '');
    throw new Error(
      `containerd did not answer on ${address}:\n${text.split('\n').slice(-10).join('\n')}`,
    );
  }
  return { address, pid, ctr, stop };
}
