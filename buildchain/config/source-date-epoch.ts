/**
 * SOURCE_DATE_EPOCH, the one timestamp of a reproducible build: RPM build times (32-bit
 * unsigned), ISO 9660 dates (4-digit years in volume descriptors, years up to 2155 in
 * directory records), file mtimes and repodata revisions all carry it.
 */
import { UsageError } from '../engine/failures.ts';
import { TaskError } from '../engine/task.ts';

/** Largest accepted SOURCE_DATE_EPOCH: 2^32 - 1 s, 2106-02-07T06:28:15Z (an RPM time). */
export const MAX_SOURCE_DATE_EPOCH = 2 ** 32 - 1;

const RANGE = `0 to ${MAX_SOURCE_DATE_EPOCH} (1970-01-01 to 2106-02-07 UTC)`;

/**
 * SOURCE_DATE_EPOCH in seconds; undefined when empty (unset). Throws TaskError
 * `invalid-input` naming the value and the valid range for anything else than a whole number
 * of seconds in that range (negative, fractional, exponent, too large).
 */
export function parseSourceDateEpoch(raw: string | undefined): number | undefined {
  const value = (raw ?? '').trim();
  if (value === '') return undefined;
  if (!/^\d+$/.test(value) || Number(value) > MAX_SOURCE_DATE_EPOCH) {
    throw new TaskError(
      'invalid-input',
      `SOURCE_DATE_EPOCH='${value}' is not a whole number of seconds from ${RANGE}`,
      {
        hint: 'set SOURCE_DATE_EPOCH to an integer in that range, e.g. $(git log -1 --format=%ct), or leave it empty',
      },
    );
  }
  return Number(value);
}

/**
 * The setting as the configuration loads it: {@link parseSourceDateEpoch}'s value, a bad value
 * being `invalid-env` (exit 2).
 */
export function checkSourceDateEpoch(
  env: Readonly<Record<string, string | undefined>>,
): number | undefined {
  try {
    return parseSourceDateEpoch(env.SOURCE_DATE_EPOCH);
  } catch (err) {
    if (err instanceof TaskError) throw new UsageError('invalid-env', err.message, err.hint);
    throw err;
  }
}
