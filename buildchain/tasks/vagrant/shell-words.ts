/**
 * Splits a setting like VAGRANT_UP_ARGS into argv words the way sh would (quotes, backslashes,
 * `$VAR` / `${VAR}` from a given map), without running a shell. Pure.
 */
import { TaskError } from '../../engine/task.ts';

/**
 * Splits `text` into words. Single quotes are literal, double quotes allow `\"`, `\\`, `\$` and
 * variables; unknown variables expand to ''. An unbalanced quote is `invalid-input`.
 */
export function splitShellWords(
  text: string,
  vars: Readonly<Record<string, string>> = {},
  what = 'value',
): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let i = 0;
  const append = (s: string): void => {
    word = (word ?? '') + s;
  };
  const variable = (): string => {
    const m = /^\$(?:\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))/.exec(text.slice(i));
    if (m === null) {
      i += 1;
      return '$';
    }
    i += m[0].length;
    return vars[m[1] ?? m[2] ?? ''] ?? '';
  };
  while (i < text.length) {
    const c = text.charAt(i);
    if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
      i += 1;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw unbalanced(what, text);
      append(text.slice(i + 1, end));
      i = end + 1;
    } else if (c === '"') {
      i += 1;
      append('');
      while (text.charAt(i) !== '"') {
        if (i >= text.length) throw unbalanced(what, text);
        const d = text.charAt(i);
        if (d === '\\' && '"\\$'.includes(text.charAt(i + 1))) {
          append(text.charAt(i + 1));
          i += 2;
        } else if (d === '$') append(variable());
        else {
          append(d);
          i += 1;
        }
      }
      i += 1;
    } else if (c === '\\') {
      append(text.charAt(i + 1));
      i += 2;
    } else if (c === '$') {
      // as in sh, an unquoted empty expansion adds no word
      const value = variable();
      if (value !== '') append(value);
    } else {
      append(c);
      i += 1;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}

function unbalanced(what: string, text: string): TaskError {
  return new TaskError('invalid-input', `${what}: unbalanced quote in '${text}'`, {
    hint: 'quote like in sh, e.g. --provider virtualbox --name "my vm"',
  });
}
