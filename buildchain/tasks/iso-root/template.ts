/**
 * `@@` templates (Python string.Template with delimiter `@@`, as the 2.4 buildchain):
 * `@@NAME` or `@@{NAME}` is replaced, `@@@@` gives `@@`; an unknown name is an error.
 */
import { TaskError } from '../../engine/task.ts';

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
      return value;
    },
  );
}
