import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isAddressOpen,
  isGroupAlive,
  killGroup,
  runningServerPids,
} from '../../buildchain/sources/embedded/servers.ts';
import { createSources } from '../../buildchain/sources/sources.ts';
import { testConfig } from '../helpers/config.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { MIRROR_TOOLS, writeMirrorFixture } from './mirror-fixture.ts';

const missing = missingTools(...MIRROR_TOOLS);
const holder = path.join(import.meta.dirname, 'mirror-holder.ts');

interface Held {
  readonly pids: number[];
  readonly registry: string;
  readonly web: string;
}

/** Polls `check` until true or `ms` elapsed; returns the last result (never a timing assertion). */
async function eventually(check: () => Promise<boolean> | boolean, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts the holder, resolves with what it printed and a promise of its exit. */
function startHolder(
  root: string,
  mode: 'cli' | 'bare',
): Promise<{ held: Held; exited: Promise<number | string>; pid: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', holder, root, mode], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => {
      resolve(code ?? signal ?? -1);
    }),
  );
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line !== undefined && child.pid !== undefined) {
        resolve({ held: JSON.parse(line) as Held, exited, pid: child.pid });
      }
    });
    void exited.then((code) => {
      reject(new Error(`holder exited (${String(code)}) before serving: ${err}`));
    });
  });
}

describe.skipIf(missing.length > 0)('embedded mirror under interruption', () => {
  let tmp: TempDir;
  const leftovers: number[] = [];

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-mirror-int-');
    await writeMirrorFixture(tmp.path);
  });

  afterAll(async () => {
    // Only the groups this suite's holders started, if a test failed half-way.
    for (const pid of leftovers) killGroup(pid, 'SIGKILL');
    await tmp.cleanup();
  });

  it('SIGINT to a process holding the mirror (stopping it as the CLI does) leaves no server', async () => {
    const { held, exited, pid } = await startHolder(tmp.path, 'cli');
    leftovers.push(...held.pids);
    expect(held.pids).toHaveLength(2);
    expect(await isAddressOpen(held.registry)).toBe(true);
    process.kill(pid, 'SIGINT');
    expect(await exited).toBe(130);
    expect(held.pids.filter((p) => isGroupAlive(p))).toEqual([]);
    expect(await isAddressOpen(held.registry)).toBe(false);
    expect(await isAddressOpen(held.web)).toBe(false);
  });

  it('SIGKILL of the holder (no handler can run) still takes the servers down', async () => {
    const { held, exited, pid } = await startHolder(tmp.path, 'bare');
    leftovers.push(...held.pids);
    expect(await isAddressOpen(held.web)).toBe(true);
    process.kill(pid, 'SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(await eventually(() => held.pids.every((p) => !isGroupAlive(p)))).toBe(true);
    expect(
      await eventually(
        async () => !(await isAddressOpen(held.registry)) && !(await isAddressOpen(held.web)),
      ),
    ).toBe(true);
  });

  it('stop() during the first seed aborts it and starts nothing', async () => {
    const fresh = await makeTempDir('mk8s-mirror-abort-');
    try {
      await writeMirrorFixture(fresh.path);
      const sources = createSources(testConfig(fresh.path, {}, 'embedded'));
      const pending = sources.registry('quay.io');
      await sources.stop();
      await expect(pending).rejects.toThrow();
      expect(runningServerPids()).toEqual([]);
      await expect(sources.registry('quay.io')).rejects.toThrow(/stopped/);
    } finally {
      await fresh.cleanup();
    }
  });

  it('concurrent first uses (mirror:seed and a pull) seed once and both succeed', async () => {
    const fresh = await makeTempDir('mk8s-mirror-race-');
    try {
      await writeMirrorFixture(fresh.path);
      const sources = createSources(testConfig(fresh.path, {}, 'embedded'));
      const mirror = sources.embedded;
      expect(mirror).toBeDefined();
      const [seeded, endpoint, again] = await Promise.all([
        mirror?.seed(),
        sources.registry('quay.io'),
        mirror?.seed(),
      ]);
      expect(seeded?.summary).toMatch(/\(4 built\)/);
      expect(again).toBe(seeded);
      expect(endpoint.pathPrefix).toBe('quay.io');
      await sources.stop();
      expect(runningServerPids()).toEqual([]);
    } finally {
      await fresh.cleanup();
    }
  });
});
