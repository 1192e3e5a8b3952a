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
