/**
 * `ctx.wroteTarget(file, sha256)`: an action that computed the sha256 of a target while writing
 * it (the ISO writer) spares the engine a read of it after the action. The engine takes the
 * target's stat and the given hash; the record is racy, so the file is still read once before
 * the state is saved (settle). A wrong value never makes a task wrongly up to date: the settle
 * read records the real content, and the next build runs the task again.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildConfig } from '../../buildchain/config/config.ts';
import { FileHasher, hashBytes, type FileRecord } from '../../buildchain/engine/fingerprint.ts';
import { fn, type TaskDefinition } from '../../buildchain/engine/task.ts';
import { testConfig } from '../helpers/config.ts';
import { runOnEngine } from '../helpers/engine-run.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const sha256Hex = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Two MiB: larger than what the hasher reads synchronously. */
const CONTENT = Buffer.alloc(2 * 1024 * 1024, 'i');

describe('ctx.wroteTarget: the sha256 a writer computed', () => {
  let tmp: TempDir;
  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-wrote-target-');
  });
  afterAll(() => tmp.cleanup());

  it('the hasher takes it without reading the file; settle reads it once and keeps the truth', async () => {
    const f = path.join(tmp.path, 'unit.bin');
    writeFileSync(f, CONTENT);
    const cache = new Map<string, FileRecord>();
    const hasher = new FileHasher(cache);
    // A claim that differs from the content shows that nothing was read.
    const claimed = sha256Hex(Buffer.from('other bytes'));
    const h = hasher.adoptWritten(f, claimed);
    expect(h).toBe(hashBytes(Buffer.from('other bytes')));
    expect(await hasher.hash(f)).toBe(h);
    expect(cache.get(f)?.[4]).toBe(0); // racy: read again before the state is saved
    await hasher.settle();
    expect(cache.get(f)?.[3]).toBe(hashBytes(CONTENT));
    expect(cache.get(f)?.[4]).toBe(1);
    expect(hasher.adoptWritten(path.join(tmp.path, 'missing'), claimed)).toBeUndefined();
  });

  describe('through the engine', () => {
    let config: BuildConfig;
    let claim: (content: Buffer) => string;
    const out = (): string => path.join(config.buildRoot, 'out.bin');
    const defs = (): TaskDefinition[] => [
      {
        name: 'write',
        fileDeps: [path.join(config.root, 'input.txt')],
        targets: [out()],
        actions: [
          fn('write', (ctx) => {
            writeFileSync(out(), CONTENT);
            ctx.wroteTarget(out(), claim(CONTENT));
            // Not a hex sha256, or not a target: ignored.
            ctx.wroteTarget(path.join(config.buildRoot, 'other'), 'zz');
            return Promise.resolve();
          }),
        ],
      },
    ];

    beforeAll(() => {
      config = testConfig(path.join(tmp.path, 'ws'));
      mkdirSync(config.buildRoot, { recursive: true });
      writeFileSync(path.join(config.root, 'input.txt'), 'in\n');
    });

    it('a true sha256: the target is recorded with it, and the next build is a no-op', async () => {
      claim = sha256Hex;
      const first = await runOnEngine(config, defs(), ['write']);
      expect(first.failures).toEqual([]);
      expect(first.ran).toEqual(['write']);
      const second = await runOnEngine(config, defs(), ['write']);
      expect(second.ran).toEqual([]);
    });

    it('a wrong sha256 costs a rerun, never a wrong up-to-date', async () => {
      claim = () => sha256Hex(Buffer.from('not what was written'));
      const forced = await runOnEngine(config, defs(), ['write'], { alwaysMake: true });
      expect(forced.ran).toEqual(['write']);
      claim = sha256Hex;
      const next = await runOnEngine(config, defs(), ['write']);
      expect(next.ran).toEqual(['write']);
      const skip = next.events.find((e) => e.event === 'start' && e.task === 'write');
      expect(JSON.stringify(skip)).toContain('out.bin');
      expect((await runOnEngine(config, defs(), ['write'])).ran).toEqual([]);
    });
  });
});
