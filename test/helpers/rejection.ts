/** The TaskError a promise rejects with, for tests that look at its message, hint or reason. */
import { TaskError } from '../../buildchain/lib/errors.ts';

/**
 * Awaits `p` and returns the {@link TaskError} it rejects with. Throws when `p` resolves, and
 * rethrows any other rejection (a plain Error or a crash is not a clear failure).
 */
export async function taskRejection(p: Promise<unknown>): Promise<TaskError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof TaskError) return err;
    throw err;
  }
  throw new Error('expected a rejection with a TaskError, but the promise resolved');
}
