/**
 * `@@` templates (Python string.Template with delimiter `@@`, as the 2.4 buildchain):
 * `@@NAME` or `@@{NAME}` is replaced, `@@@@` gives `@@`; an unknown name is an error, and so is
 * a value that is not a plain word (the templates are sh, YAML and Salt states; no quoting).
 */
import { TaskError } from '../errors.ts';
import { rejectValue } from './quote.ts';

/** What a placeholder value may hold: one word for sh, YAML and Jinja alike. */
const SAFE_VALUE = /^[A-Za-z0-9._+/-]*$/;
const PLACEHOLDER = /@@(?:(@@)|\{([_a-zA-Z][_a-zA-Z0-9]*)\}|([_a-zA-Z][_a-zA-Z0-9]*))/g;

/** Renders `text`; `source` names the template in errors. */
export function renderTemplate(
  text: string,
  context: Readonly<Record<string, string>>,
  source: string,
): string {
  return text.replace(
    PLACEHOLDER,
    (_m, escaped: string | undefined, braced: string | undefined, bare: string | undefined) => {
      if (escaped !== undefined) return '@@';
      const key = braced ?? bare ?? '';
      const value = context[key];
      if (value === undefined) {
        throw new TaskError('invalid-input', `${source}: unknown placeholder @@${key}`, {
          hint: `Known placeholders: ${Object.keys(context)
            .map((k) => `@@${k}`)
            .join(', ')}; write @@@@ for a literal @@.`,
        });
      }
      // Templates are shell scripts, YAML and Salt states: a value is inserted as it is, so it
      // must be a word none of them needs to quote.
      if (!SAFE_VALUE.test(value)) {
        rejectValue(`@@${key} in ${source}`, value, 'is not a plain word (letters, digits and ._+/-)', 'placeholder values are inserted unquoted into shell and YAML: fix the value (e.g. VERSION) at its source');
      }
      return value;
    },
  );
}
