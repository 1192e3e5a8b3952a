/**
 * A tool's version is cached across runs by its binary's stat only once that stat is past the
 * racy margin at a clock reading taken before it (engine/tool-check.ts): a binary written just
 * now is asked again next run, so a same-size replacement within the same clock tick cannot
 * keep a stale version. Real executables (sh scripts), real version commands.
 */
import { chmodSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ToolRecord } from '../../buildchain/engine/state-store.ts';
import { ToolChecker } from '../../buildchain/engine/tool-check.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

let tmp: TempDir;
beforeEach(async () => {
  tmp = await makeTempDir('mk8s-tool-racy-');
});
afterEach(async () => {
  await tmp.cleanup();
});

function tool(file: string, version: string): void {
  writeFileSync(file, `#!/bin/sh\necho ${version}\n`);
  chmodSync(file, 0o755);
}

const spec = (bin: string) => ({
  t: { name: 't', bin, envKey: 'T_BIN', versionArgs: ['--version'] },
});

describe('tool versions and the racy margin', () => {
  it('a binary changed just before its stat: version used, not cached for the next run', async () => {
    const bin = path.join(tmp.path, 'tool');
    tool(bin, 'v1');
    // Its last change within the margin whatever the machine's load: stamped 5 s ahead (a
    // clock skew does the same).
    const ahead = Date.now() / 1000 + 5;
    utimesSync(bin, ahead, ahead);
    const cache = new Map<string, ToolRecord>();
    const checker = new ToolChecker(spec(bin), tmp.path, cache);
    expect(await checker.versionsOf(['t'])).toEqual({ t: 'v1' });
    expect(cache.size).toBe(0);
    expect(checker.cacheChanged).toBe(false);
    // Rewritten with the same size; the next run asks again and sees it.
    tool(bin, 'v2');
    expect(await new ToolChecker(spec(bin), tmp.path, cache).versionsOf(['t'])).toEqual({
      t: 'v2',
    });
  });

  it('a binary older than the margin: cached, and the next run runs no version command', async () => {
    const bin = path.join(tmp.path, 'tool');
    tool(bin, 'v1');
    const old = Date.now() / 1000 - 60;
    utimesSync(bin, old, old);
    // ctime is now: wait past the margin so the stat is not racy.
    await new Promise((r) => setTimeout(r, 60));
    const cache = new Map<string, ToolRecord>();
    const checker = new ToolChecker(spec(bin), tmp.path, cache);
    expect(await checker.versionsOf(['t'])).toEqual({ t: 'v1' });
    expect(cache.size).toBe(1);
    expect(checker.cacheChanged).toBe(true);
    // The record is used: a version command that would fail is never run.
    const [key] = [...cache.keys()];
    const rec = cache.get(key ?? '');
    if (rec === undefined) throw new Error('no record');
    cache.set(key ?? '', [rec[0], rec[1], rec[2], 'from-cache']);
    expect(await new ToolChecker(spec(bin), tmp.path, cache).versionsOf(['t'])).toEqual({
      t: 'from-cache',
    });
  });
});
