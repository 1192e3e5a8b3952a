/** Signals a whole process group by its leader pid (children started `detached`). */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Not a group leader (or the group is gone): signal the process itself, if still there.
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/**
 * Stops a process group: SIGTERM now, SIGKILL after `graceMs` (clear the returned timer when
 * the group ended first). The timer never keeps this process alive.
 */
export function terminateGroup(pid: number, graceMs: number): NodeJS.Timeout {
  killGroup(pid, 'SIGTERM');
  const killTimer = setTimeout(() => {
    killGroup(pid, 'SIGKILL');
  }, graceMs);
  killTimer.unref();
  return killTimer;
}
