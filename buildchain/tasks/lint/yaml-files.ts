/**
 * Which YAML-like files lint:yaml checks, and how. Salt `.sls` files are YAML only when they
 * are not Jinja templates: those are excluded with a reason printed by the task, never
 * silently. `@@` templates (`*.sls.in`, `*.yaml.in`) are rendered first. Pure.
 */

/** How one file is handled by lint:yaml. */
export type YamlPlan =
  | { readonly kind: 'lint' }
  | { readonly kind: 'render' }
  | { readonly kind: 'exclude'; readonly reason: string };

const JINJA = /\{%|\{\{|\{#/;

/** True for Salt state/pillar files (`*.sls`, `*.sls.in`), which Salt renders with Jinja. */
export function isSaltFile(file: string): boolean {
  return /\.sls(?:\.in)?$/.test(file);
}

/**
 * Decides how lint:yaml handles `file` (relative path) given its text. Only Salt files are
 * Jinja templates: `{{ }}` elsewhere (e.g. GitHub Actions expressions) is plain YAML text.
 */
export function planYamlFile(file: string, text: string): YamlPlan {
  const firstLine = text.split('\n', 1)[0] ?? '';
  if (
    isSaltFile(file) &&
    firstLine.startsWith('#!') &&
    !/^#!\s*(?:jinja\s*\|\s*)?yaml\s*$/.test(firstLine)
  ) {
    return {
      kind: 'exclude',
      reason: `Salt renderer "${firstLine.slice(2).trim()}" is not plain YAML`,
    };
  }
  if (isSaltFile(file) && JINJA.test(text)) {
    return {
      kind: 'exclude',
      reason: 'Jinja template, rendered by Salt on the node (needs pillar/grains)',
    };
  }
  if (file.endsWith('.in')) return { kind: 'render' };
  return { kind: 'lint' };
}

/** The project's yamllint configuration (`.yamllint`), also used by tests. */
export const YAMLLINT_CONFIG_FILE = '.yamllint';
