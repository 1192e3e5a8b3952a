/** CPU time figures the benchmarks print next to wall times (a loaded machine stretches the latter). */
import { readFileSync } from 'node:fs';

/**
 * CPU seconds (user + system) of this process's waited-for children so far, from
 * /proc/self/stat (clock ticks of 10 ms): tells a loaded machine's wall times from real cost.
 */
export function childrenCpuS(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ": state is field 3, cutime field 16, cstime field 17 (1-based).
  return (Number(fields[13]) + Number(fields[14])) / 100;
}
