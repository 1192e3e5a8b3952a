/**
 * Renders a Jinja template file with python3-jinja2, as Salt's `template: jinja` does for the
 * archive templates (registry-config.inc.j2, ui/*.yaml, the Salt tree's repo files): the
 * template's trailing newline kept, as Salt keeps it. Strict by default: an undefined variable
 * is an error instead of an empty string. Needs python3-jinja2 (see {@link missingJinja}).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { execa } from 'execa';
import { isCI } from './require-tool.ts';

/** Exit code of RENDER for an error of the template (a `raise`, an undefined value...). */
const TEMPLATE_ERROR = 65;

// argv: file, loader root ('' = the file alone), 'strict' or 'lenient'; context as JSON on
// stdin. The whole text is rendered before anything is written: an error leaves stdout empty.
const RENDER = [
  'import json, os, sys, jinja2',
  'file, root, mode = sys.argv[1:4]',
  'undefined = jinja2.StrictUndefined if mode == "strict" else jinja2.Undefined',
  'loader = jinja2.FileSystemLoader(root) if root else None',
  'env = jinja2.Environment(loader=loader, undefined=undefined, keep_trailing_newline=True)',
  'try:',
  '    if root:',
  '        template = env.get_template(os.path.relpath(file, root).replace(os.sep, "/"))',
  '    else:',
  '        template = env.from_string(open(file, encoding="utf-8").read())',
  '    text = template.render(**json.load(sys.stdin))',
  'except jinja2.TemplateError as e:',
  '    sys.stderr.write(str(e))',
  `    sys.exit(${String(TEMPLATE_ERROR)})`,
  'sys.stdout.write(text)',
].join('\n');

/** How {@link renderJinjaFile} and {@link tryRenderJinjaFile} set up Jinja. */
export interface JinjaOptions {
  /**
   * Directory the template loader is rooted at (e.g. the Salt tree): `file` must lie under it,
   * and its `import`/`include`/`extends` resolve there. Default: `file` alone, no loader.
   */
  root?: string;
  /**
   * true (default): an undefined variable is an error (StrictUndefined). false: Jinja's
   * default, an empty string, as MetalK8s 2.4 renders its own templates.
   */
  strict?: boolean;
}

/** A rendering: the text, or the template's error message (never both). */
export type JinjaRenderResult = { ok: true; text: string } | { ok: false; error: string };

/**
 * `['python3-jinja2']` (and `python3-<m>` for each of `alsoModules`, e.g. `yaml` for
 * salt-apply.py) when python3 cannot import them all (a failure under CI=true), else [].
 */
export function missingJinja(alsoModules: readonly string[] = []): string[] {
  const modules = ['jinja2', ...alsoModules];
  const packages = modules.map((m) => `python3-${m}`);
  try {
    execFileSync('python3', ['-c', `import ${modules.join(', ')}`], { stdio: 'ignore' });
    return [];
  } catch {
    const msg = `python3 with ${modules.join(', ')} (apt-get install ${packages.join(' ')}, or npm run setup)`;
    if (isCI) throw new Error(`CI=true and missing: ${msg}`);
    console.warn(`skipping: missing ${msg}`);
    return packages;
  }
}

/**
 * Renders the template `file` with `context` (any JSON values, e.g. 2.4's `archives`) without
 * throwing for an error of the template: `{ ok: false, error }` holds Jinja's message (a
 * `raise`, an undefined value, a syntax error). Rejects only when python3 itself fails (a
 * missing file, a crash), which is the test's problem, not the template's.
 */
export async function tryRenderJinjaFile(
  file: string,
  context: Record<string, unknown>,
  options: JinjaOptions = {},
): Promise<JinjaRenderResult> {
  const root = options.root === undefined ? '' : path.resolve(options.root);
  if (root !== '' && path.relative(root, path.resolve(file)).startsWith('..')) {
    throw new Error(`template ${file} is not under the loader root ${root}`);
  }
  const mode = (options.strict ?? true) ? 'strict' : 'lenient';
  const r = await execa('python3', ['-c', RENDER, file, root, mode], {
    input: JSON.stringify(context),
    stripFinalNewline: false,
    reject: false,
  });
  if (r.exitCode === 0) return { ok: true, text: r.stdout };
  if (r.exitCode === TEMPLATE_ERROR && r.stdout === '') return { ok: false, error: r.stderr };
  throw new Error(
    `rendering ${file} with python3-jinja2 failed (exit code ${String(r.exitCode)}):\n${r.stderr}`,
  );
}

/** The rendered text of the template `file` with `context`; throws with Jinja's message on error. */
export async function renderJinjaFile(
  file: string,
  context: Record<string, unknown>,
  options: JinjaOptions = {},
): Promise<string> {
  const r = await tryRenderJinjaFile(file, context, options);
  if (!r.ok) throw new Error(`rendering ${file}: ${r.error}`);
  return r.text;
}
