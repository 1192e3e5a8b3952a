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

/** `['python3-jinja2']` when python3 cannot import jinja2 (a failure under CI=true), else []. */
export function missingJinja(): string[] {
  try {
    execFileSync('python3', ['-c', 'import jinja2'], { stdio: 'ignore' });
    return [];
  } catch {
    const msg = 'python3 with jinja2 (apt-get install python3-jinja2, or npm run setup)';
    if (isCI) throw new Error(`CI=true and missing: ${msg}`);
    console.warn(`skipping: missing ${msg}`);
    return ['python3-jinja2'];
  }
}

/** The rendered text of the template `file` with `context`. */
export async function renderJinjaFile(
  file: string,
  context: Record<string, string>,
): Promise<string> {
  const r = await execa('python3', ['-c', RENDER, file, JSON.stringify(context)], {
    stripFinalNewline: false,
  });
  return r.stdout;
}
