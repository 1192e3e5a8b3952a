/**
 * Task-name wildcards with fnmatch semantics (`*` any run of characters, including `:`;
 * `?` one character; `[abc]`/`[!abc]` classes), as doit matches them.
 */

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
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

/** Command-line spelling to task spelling: `/` is accepted as the separator. */
export function normalizeTaskName(name: string): string {
  return name.replaceAll('/', ':');
}
