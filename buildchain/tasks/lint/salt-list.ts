/**
 * The shipped Salt file list (`salt/MANIFEST`, parsed by the salt tasks) and the files present
 * under `salt/`, for lint:content. Undefined when the project has no MANIFEST.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { listSaltDir, parseSaltManifest, SALT_MANIFEST } from '../salt/manifest.ts';
import type { SaltFileList } from './run-content.ts';

/** Loads `salt/MANIFEST` of the repository at `root`; a malformed one throws. */
export async function loadSaltFileList(root: string): Promise<SaltFileList | undefined> {
  const file = path.join(root, SALT_MANIFEST);
  if (!existsSync(file)) return undefined;
  const text = await readFile(file, 'utf8');
  const lines = new Map<string, number>();
  text.split('\n').forEach((raw, i) => {
    const entry = raw.replace(/#.*$/, '').trim();
    if (entry !== '') lines.set(`salt/${entry}`, i + 1);
  });
  return {
    file: SALT_MANIFEST,
    listed: parseSaltManifest(text).map((f) => f.source),
    present: listSaltDir(root),
    lines,
    // listSaltDir already leaves out MANIFEST and README files (documentation, never shipped)
    exempt: () => undefined,
  };
}
