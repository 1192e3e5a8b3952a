/**
 * Issue 16, bounded work and usage errors (pure logic): wildcard ranges, SOURCE_DATE_EPOCH and
 * COMMAND_TIMEOUT ranges. Each mistake is a usage error naming the value and the valid form.
 */
import { describe, expect, it } from 'vitest';
import { commandTimeoutMs } from '../../buildchain/config/command-timeout.ts';
import {
  checkSourceDateEpoch,
  MAX_SOURCE_DATE_EPOCH,
  parseSourceDateEpoch,
} from '../../buildchain/config/source-date-epoch.ts';
import { UsageError } from '../../buildchain/engine/failures.ts';
import { TaskError } from '../../buildchain/engine/task.ts';
import { wildcardToRegExp } from '../../buildchain/engine/wildcard.ts';

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  throw new Error('did not throw');
}

describe('wildcards: an out-of-order range is a usage error naming the pattern', () => {
  it.each(['[z-a]', 'images:[9-0]*', 'x[!z-a]'])('%s', (pattern) => {
    const err = thrown(() => wildcardToRegExp(pattern));
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).reason).toBe('usage');
    expect((err as UsageError).message).toContain(`invalid wildcard '${pattern}'`);
    expect((err as UsageError).message).toMatch(/range .-. is out of order/);
    expect((err as UsageError).hint).toMatch(/low to high/);
  });

  it('keeps valid classes: ranges, a literal dash, a range then a dash', () => {
    expect(wildcardToRegExp('[a-c]').test('b')).toBe(true);
    expect(wildcardToRegExp('[-z]').test('-')).toBe(true);
    expect(wildcardToRegExp('[a-]').test('-')).toBe(true);
    expect(wildcardToRegExp('[a-c-e]').test('-')).toBe(true);
    expect(wildcardToRegExp('[a-cx-z]').test('y')).toBe(true);
    expect(wildcardToRegExp('[!a-c]').test('b')).toBe(false);
  });
});

describe('SOURCE_DATE_EPOCH: whole seconds from 0 to 2^32 - 1', () => {
  it.each([
    '1e20',
    '-5',
    '1.5',
    '99999999999999999999',
    String(MAX_SOURCE_DATE_EPOCH + 1),
    '0x10',
    'yesterday',
  ])('%s is refused, naming the value and the range', (value) => {
    const err = thrown(() => parseSourceDateEpoch(value));
    expect(err).toBeInstanceOf(TaskError);
    expect((err as TaskError).reason).toBe('invalid-input');
    expect((err as TaskError).message).toBe(
      `SOURCE_DATE_EPOCH='${value}' is not a whole number of seconds from 0 to 4294967295 (1970-01-01 to 2106-02-07 UTC)`,
    );
    const usage = thrown(() => {
      checkSourceDateEpoch({ SOURCE_DATE_EPOCH: value });
    });
    expect(usage).toBeInstanceOf(UsageError);
    expect((usage as UsageError).reason).toBe('invalid-env');
  });

  it('accepts the ends of the range and treats empty as unset', () => {
    expect(parseSourceDateEpoch('0')).toBe(0);
    expect(parseSourceDateEpoch(String(MAX_SOURCE_DATE_EPOCH))).toBe(MAX_SOURCE_DATE_EPOCH);
    expect(parseSourceDateEpoch('')).toBeUndefined();
    expect(parseSourceDateEpoch(undefined)).toBeUndefined();
    // The largest value is still a date ISO 9660 and RPM carry.
    expect(new Date(MAX_SOURCE_DATE_EPOCH * 1000).toISOString()).toBe('2106-02-07T06:28:15.000Z');
  });
});

describe('COMMAND_TIMEOUT', () => {
  it('defaults to an hour, 0 is no limit, seconds otherwise', () => {
    expect(commandTimeoutMs({})).toBe(3_600_000);
    expect(commandTimeoutMs({ COMMAND_TIMEOUT: '' })).toBe(3_600_000);
    expect(commandTimeoutMs({ COMMAND_TIMEOUT: '0' })).toBe(0);
    expect(commandTimeoutMs({ COMMAND_TIMEOUT: '90' })).toBe(90_000);
  });

  it.each(['abc', '-1', '1.5', '1e3', '99999999'])('%s is an invalid-env usage error', (value) => {
    const err = thrown(() => commandTimeoutMs({ COMMAND_TIMEOUT: value }));
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).reason).toBe('invalid-env');
    expect((err as UsageError).message).toContain(
      `COMMAND_TIMEOUT=${value} is not a whole number of seconds`,
    );
  });
});
