/**
 * `fn()` attributes an action to the module calling it (buildchain/engine/code-fingerprint.ts
 * callerModule): the first stack frame outside the engine, as its TypeScript source. Here the
 * sources run (vitest), so frames are the source files themselves; the bundle's mapping is
 * checked end to end in test/engine/bundle.test.ts.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { callerModule } from '../../buildchain/engine/code-fingerprint.ts';
import { fn } from '../../buildchain/engine/task.ts';
import { sourceOfFrame } from '../../buildchain/lib/package-root.ts';

const THIS_FILE = fileURLToPath(import.meta.url);

function nested(depth: number): string | undefined {
  return depth === 0 ? callerModule() : nested(depth - 1);
}

describe('callerModule', () => {
  it('is the module calling fn, skipping the engine frames', () => {
    expect(fn('label', () => Promise.resolve()).module).toBe(THIS_FILE);
  });

  it('is the calling module itself when called outside the engine, at any depth', () => {
    expect(callerModule()).toBe(THIS_FILE);
    expect(nested(20)).toBe(THIS_FILE);
  });

  it("given the function calling it, looks at that function's caller first", () => {
    const helper = (): string | undefined => callerModule(helper);
    const viaNested = (depth: number): string | undefined =>
      depth === 0 ? helper() : viaNested(depth - 1);
    expect(helper()).toBe(THIS_FILE);
    expect(viaNested(5)).toBe(THIS_FILE);
  });

  it('gives the same answer on repeated calls (memoised frame files)', () => {
    const modules = Array.from({ length: 50 }, () => fn('x', () => Promise.resolve()).module);
    expect(new Set(modules)).toEqual(new Set([THIS_FILE]));
  });

  it('restores Error.prepareStackTrace and Error.stackTraceLimit', () => {
    const prepare = Object.getOwnPropertyDescriptor(Error, 'prepareStackTrace');
    const limit = Error.stackTraceLimit;
    callerModule();
    expect(Object.getOwnPropertyDescriptor(Error, 'prepareStackTrace')).toEqual(prepare);
    expect(Error.stackTraceLimit).toBe(limit);
  });

  it('a file outside any bundle is its own source', () => {
    expect(sourceOfFrame(THIS_FILE, 12)).toBe(THIS_FILE);
  });
});
