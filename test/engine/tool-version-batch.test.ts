/**
 * ToolChecker.prefetch (engine/tool-check.ts): the versions of many tools read by one shell
 * (the build cache's start-up) are exactly what reading each alone gives — several lines,
 * blank lines, stderr, no final newline, a failing exit status, no output (the binary's
 * identity), a script that cannot be executed (identity too), quotes in the path — and they
 * are cached across runs the same way. A tool writing to both streams comes out in the order
 * it wrote (read alone, the two pipes race). Real executables (sh scripts), real commands.
 */
import { chmodSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ToolRecord } from '../../buildchain/engine/state-store.ts';
import type { ToolSpec } from '../../buildchain/engine/task.ts';
import { ToolChecker } from '../../buildchain/engine/tool-check.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

let tmp: TempDir;
beforeEach(async () => {
  tmp = await makeTempDir('mk8s-tool-batch-');
});
afterEach(async () => {
  await tmp.cleanup();
});

/** Tool scripts; each appends its parent's pid to `parents` when run. */
const SCRIPTS: Record<string, string> = {
  multi: 'echo "multi 1.2"\necho\necho "  third line"\necho fourth',
  stderr: 'echo "stderr-tool 3.0" >&2',
  nonewline: 'printf "bare 9"',
  failing: 'echo "failing 2.0"; exit 3',
  silent: 'true',
  mixed: 'echo "out 1"; echo "err 2" >&2; echo "out 3"',
};

function tools(dir: string, parents: string): Record<string, ToolSpec> {
  const specs: Record<string, ToolSpec> = {};
  for (const [name, body] of Object.entries(SCRIPTS)) {
    const file = path.join(dir, name);
    writeFileSync(file, `#!/bin/sh\necho $PPID >> '${parents}'\n${body}\n`);
    chmodSync(file, 0o755);
    specs[name] = { name, bin: file, envKey: 'X_BIN', versionArgs: ['--version'] };
  }
  // Cannot be executed (its interpreter does not exist): its identity, as a spawn error gives.
  const broken = path.join(dir, 'broken');
  writeFileSync(broken, '#!/nonexistent/interpreter\n');
  chmodSync(broken, 0o755);
  specs.broken = { name: 'broken', bin: broken, envKey: 'X_BIN', versionArgs: ['-v'] };
  const noArgs = path.join(dir, 'noargs');
  writeFileSync(noArgs, '#!/bin/sh\n');
  chmodSync(noArgs, 0o755);
  specs.noargs = { name: 'noargs', bin: noArgs, envKey: 'X_BIN', versionArgs: [] };
  return specs;
}

describe('tool versions read by one shell', () => {
  it('give what each command alone gives, from one process', async () => {
    // A directory name a shell would split or expand.
    const dir = path.join(tmp.path, "it's $HOME & more");
    mkdirSync(dir);
    const parents = path.join(tmp.path, 'parents.txt');
    const specs = tools(dir, parents);
    const names = Object.keys(specs).filter((n) => n !== 'mixed');

    const alone = await new ToolChecker(specs, tmp.path, new Map()).versionsOf(names);
    // Read alone, each script is a child of this process.
    expect(new Set(readFileSync(parents, 'utf8').trim().split('\n'))).toEqual(
      new Set([String(process.pid)]),
    );
    writeFileSync(parents, '');
    const batched = new ToolChecker(specs, tmp.path, new Map());
    batched.prefetch(names);
    expect(await batched.versionsOf(names)).toEqual(alone);
    expect(batched.versionsSync(names)).toEqual(alone);

    expect(alone.multi).toBe('multi 1.2\n\n  third line');
    expect(alone.stderr).toBe('stderr-tool 3.0');
    expect(alone.nonewline).toBe('bare 9');
    expect(alone.failing).toBe('failing 2.0');
    batched.prefetch(['mixed']);
    expect(await batched.versionsOf(['mixed'])).toEqual({ mixed: 'out 1\nerr 2\nout 3' });
    expect(alone.silent).toMatch(/silent \d+ /);
    expect(alone.broken).toMatch(/broken \d+ /);
    // Six scripts ran, none a child of this process (of the one shell's jobs).
    const ppids = readFileSync(parents, 'utf8').trim().split('\n');
    expect(ppids).toHaveLength(6);
    expect(ppids).not.toContain(String(process.pid));
  });

  it('are cached across runs by the binary stat, as when read alone', async () => {
    const parents = path.join(tmp.path, 'parents.txt');
    const specs = tools(tmp.path, parents);
    const old = Date.now() / 1000 - 60;
    for (const s of Object.values(specs)) utimesSync(s.bin, old, old);
    await new Promise((r) => setTimeout(r, 60));
    const cache = new Map<string, ToolRecord>();
    const first = new ToolChecker(specs, tmp.path, cache);
    first.prefetch(['multi', 'failing']);
    const v = await first.versionsOf(['multi', 'failing']);
    expect(first.cacheChanged).toBe(true);
    expect(cache.size).toBe(2);
    writeFileSync(parents, '');
    const next = new ToolChecker(specs, tmp.path, cache);
    next.prefetch(['multi', 'failing']);
    expect(await next.versionsOf(['multi', 'failing'])).toEqual(v);
    expect(readFileSync(parents, 'utf8')).toBe('');
  });

  it('each version is there when its own command ends, not when the slowest does', async () => {
    const slow = path.join(tmp.path, 'slow');
    writeFileSync(slow, '#!/bin/sh\nsleep 2\necho slow 1\n');
    chmodSync(slow, 0o755);
    const fast = path.join(tmp.path, 'fast');
    writeFileSync(fast, '#!/bin/sh\necho fast 1\n');
    chmodSync(fast, 0o755);
    const specs: Record<string, ToolSpec> = {
      slow: { name: 'slow', bin: slow, envKey: 'X_BIN', versionArgs: ['--version'] },
      fast: { name: 'fast', bin: fast, envKey: 'X_BIN', versionArgs: ['--version'] },
    };
    const checker = new ToolChecker(specs, tmp.path, new Map());
    const t0 = Date.now();
    checker.prefetch(['slow', 'fast']);
    expect(await checker.versionsOf(['fast'])).toEqual({ fast: 'fast 1' });
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(checker.versionsSync(['slow'])).toBeUndefined();
    expect(await checker.versionsOf(['slow'])).toEqual({ slow: 'slow 1' });
  });
});
