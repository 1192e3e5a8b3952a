import { describe, expect, it } from 'vitest';
import { UsageError } from '../../buildchain/engine/failures.ts';
import { TaskError } from '../../buildchain/engine/task.ts';
import { defineTasks, toDefinitionError } from '../../buildchain/engine/definition-errors.ts';

describe('toDefinitionError', () => {
  it('turns a content mistake into an invalid-task usage error keeping message and hint', () => {
    const err = toDefinitionError(
      new TaskError('invalid-input', 'images/images.yaml is not valid YAML', { hint: 'fix it' }),
    );
    expect(err).toBeInstanceOf(UsageError);
    expect(err).toMatchObject({
      reason: 'invalid-task',
      message: 'images/images.yaml is not valid YAML',
      hint: 'fix it',
    });
  });

  it('calls it invalid-env when the message starts with a setting of the configuration', () => {
    const settings = { IMAGE_BUILDER: 'foo', SOURCE_DATE_EPOCH: 'x', REGISTRY_MIRRORS: 'garbage' };
    for (const message of [
      'IMAGE_BUILDER=foo is not buildah',
      "SOURCE_DATE_EPOCH='x' is not a number",
      "REGISTRY_MIRRORS: 'garbage' is not",
    ]) {
      expect(toDefinitionError(new TaskError('invalid-input', message), settings)).toMatchObject({
        reason: 'invalid-env',
      });
    }
    expect(
      toDefinitionError(new TaskError('invalid-input', 'VERSION: bad'), settings),
    ).toMatchObject({ reason: 'invalid-task' });
  });

  it('leaves internal errors and foreign errors alone (they keep their stack)', () => {
    const internal = new TaskError('internal-error', 'bug');
    const plain = new TypeError('x is undefined');
    expect(toDefinitionError(internal)).toBe(internal);
    expect(toDefinitionError(plain)).toBe(plain);
  });

  it('defineTasks returns the value, or rethrows converted', () => {
    expect(defineTasks(() => 42)).toBe(42);
    expect(() =>
      defineTasks(
        () => {
          throw new TaskError('invalid-input', 'ISO_ROOT_STRAYS=foo is not remove or fail');
        },
        { ISO_ROOT_STRAYS: 'foo' },
      ),
    ).toThrow(UsageError);
  });
});
