/**
 * `salt/MANIFEST`: the explicit list of shipped Salt files. Where each file goes on the ISO,
 * and which files under `salt/` are present but not shipped (warned about, never shipped).
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';

export const SALT_DIR = 'salt';
export const SALT_MANIFEST = 'salt/MANIFEST';

/** One shipped file. */
export interface SaltFile {
  /** Source relative to the repository root, e.g. `salt/top.sls.in`. */
  readonly source: string;
  /** Destination relative to the ISO root, e.g. `salt/top.sls` or `pillar/top.sls`. */
  readonly dest: string;
  /** `*.in`: rendered with @@VERSION. */
  readonly template: boolean;
}

/** Parses MANIFEST text: one path per line relative to `salt/`, `#` comments. */
export function parseSaltManifest(text: string): SaltFile[] {
  const files: SaltFile[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    if (line.startsWith('/') || line.split('/').includes('..')) {
      throw new Error(`${SALT_MANIFEST}: '${line}' must be a relative path inside salt/`);
    }
    const template = line.endsWith('.in');
    const out = template ? line.slice(0, -3) : line;
    files.push({
      source: `${SALT_DIR}/${line}`,
      dest: out.startsWith('pillar/') ? out : `salt/${out}`,
      template,
    });
  }
  return files;
}

/** Files under `<root>/salt` (relative to root, sorted), MANIFEST and README* excluded. */
export function listSaltDir(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else if (r !== SALT_MANIFEST && !/^README/.test(e.name)) out.push(r);
    }
  };
  walk(SALT_DIR);
  return out.sort();
}

/** Present under salt/ but not listed. */
export function unshippedSaltFiles(
  present: readonly string[],
  shipped: readonly SaltFile[],
): string[] {
  const listed = new Set(shipped.map((f) => f.source));
  return present.filter((p) => !listed.has(p));
}
