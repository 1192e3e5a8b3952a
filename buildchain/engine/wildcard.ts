/**
 * Task-name wildcards with fnmatch semantics (`*` any run of characters, including `:`;
 * `?` one character; `[abc]`/`[!abc]` classes), as doit matches them.
 */
import { UsageError } from './failures.ts';

/** True when the pattern contains a wildcard character. */
export function isWildcard(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

/** Compiles an fnmatch pattern to an anchored regular expression. */
export function wildcardToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charAt(i);
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, end);
      const negate = body.startsWith('!');
      if (negate) body = body.slice(1);
      checkRanges(pattern, body);
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  try {
    return new RegExp(`^${re}$`, 's');
  } catch {
    throw invalidPattern(pattern, 'it cannot be compiled');
  }
}

function invalidPattern(pattern: string, why: string): UsageError {
  return new UsageError(
    'usage',
    `invalid wildcard '${pattern}': ${why}`,
    'a wildcard uses * (any characters), ? (one character) and [abc], [a-z] or [!abc] classes with ranges written low to high; quote it in the shell',
  );
}

/** Throws when a class holds a range whose ends are out of order (`[z-a]`). */
function checkRanges(pattern: string, body: string): void {
  // UTF-16 code units, as the (non-unicode) regular expression compares them.
  for (let k = 1; k + 1 < body.length; k++) {
    if (body.charAt(k) !== '-') continue;
    if (body.charCodeAt(k - 1) > body.charCodeAt(k + 1)) {
      throw invalidPattern(
        pattern,
        `the range ${body.charAt(k - 1)}-${body.charAt(k + 1)} is out of order`,
      );
    }
    k += 2;
  }
}

/** Command-line spelling to task spelling: `/` is accepted as the separator. */
export function normalizeTaskName(name: string): string {
  return name.replaceAll('/', ':');
}
