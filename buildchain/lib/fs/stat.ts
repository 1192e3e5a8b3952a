/** Looking at a path the user gave, without throwing. */
import { statSync, type Stats } from 'node:fs';

/** stat of `p`, undefined when it cannot be reached (ENOENT, ENOTDIR under a file, EACCES). */
export function statIfReachable(p: string): Stats | undefined {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}
