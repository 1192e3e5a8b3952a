/** COMMAND_TIMEOUT: the time limit of every external command that has no limit of its own. */
import { UsageError } from '../engine/failures.ts';
import { DEFAULT_COMMAND_TIMEOUT_S } from '../engine/exec/run-command.ts';

/** Largest accepted COMMAND_TIMEOUT (seconds): what a Node.js timer can wait (about 24 days). */
export const MAX_COMMAND_TIMEOUT_S = Math.floor((2 ** 31 - 1) / 1000);

/**
 * COMMAND_TIMEOUT (whole seconds; 0: no limit; empty: {@link DEFAULT_COMMAND_TIMEOUT_S}) in ms.
 * Throws `invalid-env` naming the value and the accepted range.
 */
export function commandTimeoutMs(env: Readonly<Record<string, string | undefined>>): number {
  const raw = (env.COMMAND_TIMEOUT ?? '').trim();
  if (raw === '') return DEFAULT_COMMAND_TIMEOUT_S * 1000;
  if (!/^\d+$/.test(raw) || Number(raw) > MAX_COMMAND_TIMEOUT_S) {
    throw new UsageError(
      'invalid-env',
      `COMMAND_TIMEOUT=${raw} is not a whole number of seconds from 0 to ${MAX_COMMAND_TIMEOUT_S}`,
      `set COMMAND_TIMEOUT in .env to e.g. ${DEFAULT_COMMAND_TIMEOUT_S} (0 = no limit), or leave it empty`,
    );
  }
  return Number(raw) * 1000;
}
