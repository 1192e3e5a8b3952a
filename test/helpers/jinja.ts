/**
 * Renders a Jinja template file with python3-jinja2, as Salt's `template: jinja` does for the
 * archive templates (registry-config.inc.j2, ui/*.yaml), but strict: an undefined variable is
 * an error instead of an empty string. Needs python3-jinja2 (see {@link missingJinja}).
 */
import { execFileSync } from 'node:child_process';
import { execa } from 'execa';
import { isCI } from './require-tool.ts';

const RENDER = [
  'import json, sys, jinja2',
  'env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)',
  'src = open(sys.argv[1], encoding="utf-8").read()',
  'sys.stdout.write(env.from_string(src).render(**json.loads(sys.argv[2])))',
].join('\n');

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

/** The rendered text of the template `file` with `context` (any JSON values, e.g. 2.4's `archives`). */
export async function renderJinjaFile(
  file: string,
  context: Record<string, unknown>,
): Promise<string> {
  const r = await execa('python3', ['-c', RENDER, file, JSON.stringify(context)], {
    stripFinalNewline: false,
  });
  return r.stdout;
}
