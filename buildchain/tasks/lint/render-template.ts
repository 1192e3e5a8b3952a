/**
 * Renders `@@NAME` / `@@{NAME}` templates (`*.sh.in`, `*.sls.in`) the way the ISO does, so
 * that linters see what ships. `@@@@` is a literal `@@`. Pure.
 */

/** Result of {@link renderAtTemplate}: the text, and placeholders that had no value. */
export interface RenderResult {
  readonly text: string;
  /** Unknown placeholders with their 1-based line. */
  readonly unknown: readonly { readonly name: string; readonly line: number }[];
}

const PLACEHOLDER = /@@(?:@@|\{([_a-z][_a-z0-9]*)\}|([_a-z][_a-z0-9]*))/gi;

/** Substitutes placeholders from `values`; line numbers are kept (values hold no newline). */
export function renderAtTemplate(
  text: string,
  values: Readonly<Record<string, string>>,
): RenderResult {
  const unknown: { name: string; line: number }[] = [];
  const out = text.replace(
    PLACEHOLDER,
    (match, braced: string | undefined, bare: string | undefined, offset: number) => {
      const name = braced ?? bare;
      if (name === undefined) return '@@';
      const value = values[name];
      if (value !== undefined) return value;
      unknown.push({ name, line: text.slice(0, offset).split('\n').length });
      return match;
    },
  );
  return { text: out, unknown };
}

/** Values every template may use: `VERSION`, `SHORT_VERSION`, `PROJECT_NAME`. */
export function templateValues(version: string, projectName: string): Record<string, string> {
  const [major = '0', minor = '0'] = version.split('.');
  return { VERSION: version, SHORT_VERSION: `${major}.${minor}`, PROJECT_NAME: projectName };
}
