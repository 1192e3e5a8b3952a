/**
 * `@@` templates (Python string.Template with delimiter `@@`, as the 2.4 buildchain):
 * `@@NAME` or `@@{NAME}` is replaced, `@@@@` gives `@@`; an unknown name is an error, and so is
 * a value that is not a plain word (the templates are sh, YAML and Salt states; no quoting).
 *
 * The one renderer: the ISO tasks (iso-root, salt) render with {@link renderTemplate}, which
 * throws on the first problem; lint renders with {@link scanTemplate}, which lists every
 * problem with its line. Both take their values from {@link templateValues}, so lint fails on
 * exactly what the ISO build fails on.
 */
import { TaskError } from '../errors.ts';
import { rejectValue } from './quote.ts';

/** What a placeholder value may hold: one word for sh, YAML and Jinja alike. */
const SAFE_VALUE = /^[A-Za-z0-9._+/-]*$/;
const PLACEHOLDER = /@@(?:(@@)|\{([_a-zA-Z][_a-zA-Z0-9]*)\}|([_a-zA-Z][_a-zA-Z0-9]*))/g;
const SAFE_VALUE_PROBLEM = 'is not a plain word (letters, digits and ._+/-)';
const SAFE_VALUE_FIX =
  'placeholder values are inserted unquoted into shell and YAML: fix the value (e.g. VERSION) at its source';

/**
 * The placeholders every shipped template (`scripts/*.in`, `salt/**.in`, `iso-root/**.in`)
 * may use, from the product version (`VERSION`'s full form, e.g. `2.4.0-beta1`).
 */
export function templateValues(version: string): Record<string, string> {
  return { VERSION: version };
}

/** A placeholder {@link renderTemplate} refuses. */
export interface TemplateProblem {
  /** `unknown`: no value for the name; `unsafe-value`: its value is not a plain word. */
  readonly kind: 'unknown' | 'unsafe-value';
  /** The placeholder name, without `@@`. */
  readonly name: string;
  /** 1-based line of the placeholder in the template. */
  readonly line: number;
}

/** Result of {@link scanTemplate}: the rendered text (problems left as written) and the problems. */
export interface TemplateScan {
  readonly text: string;
  readonly problems: readonly TemplateProblem[];
}

/** Renders `text`, listing the placeholders that cannot be rendered; line numbers are kept. */
export function scanTemplate(
  text: string,
  context: Readonly<Record<string, string>>,
): TemplateScan {
  const problems: TemplateProblem[] = [];
  const out = text.replace(
    PLACEHOLDER,
    (
      match: string,
      escaped: string | undefined,
      braced: string | undefined,
      bare: string | undefined,
      offset: number,
    ) => {
      if (escaped !== undefined) return '@@';
      const name = braced ?? bare ?? '';
      const value = Object.hasOwn(context, name) ? context[name] : undefined;
      // Templates are shell scripts, YAML and Salt states: a value is inserted as it is, so it
      // must be a word none of them needs to quote.
      if (value !== undefined && SAFE_VALUE.test(value)) return value;
      const line = text.slice(0, offset).split('\n').length;
      problems.push({ kind: value === undefined ? 'unknown' : 'unsafe-value', name, line });
      return match;
    },
  );
  return { text: out, problems };
}

/** The message of a problem, without the template's name (lint adds file:line, the ISO its name). */
export function describeTemplateProblem(
  p: TemplateProblem,
  context: Readonly<Record<string, string>>,
): string {
  return p.kind === 'unknown'
    ? `unknown placeholder @@${p.name}`
    : `@@${p.name} ${JSON.stringify(context[p.name] ?? '')} ${SAFE_VALUE_PROBLEM}`;
}

/** Renders `text`; `source` names the template in errors. Throws on the first problem. */
export function renderTemplate(
  text: string,
  context: Readonly<Record<string, string>>,
  source: string,
): string {
  const scan = scanTemplate(text, context);
  const first = scan.problems[0];
  if (first === undefined) return scan.text;
  if (first.kind === 'unsafe-value') {
    rejectValue(
      `@@${first.name} in ${source}`,
      context[first.name] ?? '',
      SAFE_VALUE_PROBLEM,
      SAFE_VALUE_FIX,
    );
  }
  throw new TaskError(
    'invalid-input',
    `${source}: unknown placeholder @@${first.name} (line ${first.line})`,
    {
      hint: `Known placeholders: ${Object.keys(context)
        .map((k) => `@@${k}`)
        .join(', ')}; write @@@@ for a literal @@.`,
    },
  );
}
