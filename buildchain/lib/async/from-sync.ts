/**
 * A promise settled with what `run` returns or throws: the asynchronous signature of a function
 * whose work is synchronous (a few small reads cost less than their thread pool round trips).
 */
export function fromSync<T>(run: () => T): Promise<T> {
  try {
    return Promise.resolve(run());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}
