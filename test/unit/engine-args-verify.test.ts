import { describe, expect, it } from 'vitest';
import { extractVerifyPath } from '../../buildchain/cli/args.ts';

describe('verify PATH.iso', () => {
  it('takes the ISO path after verify out of the task list', () => {
    expect(extractVerifyPath(['verify', 'out/x.iso'])).toEqual({
      tasks: ['verify'],
      isoPath: 'out/x.iso',
    });
    expect(extractVerifyPath(['verify', '/abs/metalk8s'])).toEqual({
      tasks: ['verify'],
      isoPath: '/abs/metalk8s',
    });
  });
  it('leaves task names alone', () => {
    expect(extractVerifyPath(['verify', 'images'])).toEqual({
      tasks: ['verify', 'images'],
      isoPath: undefined,
    });
    expect(extractVerifyPath(['iso', 'x.iso'])).toEqual({
      tasks: ['iso', 'x.iso'],
      isoPath: undefined,
    });
    expect(extractVerifyPath(['verify'])).toEqual({ tasks: ['verify'], isoPath: undefined });
  });
});
