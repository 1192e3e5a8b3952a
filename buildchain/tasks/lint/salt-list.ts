/**
 * The shipped Salt file list (`salt/MANIFEST`, parsed by the salt tasks) and the files present
 * under `salt/`, for lint:content. Undefined when the project has no MANIFEST.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { listSaltDir, parseSaltManifest, SALT_MANIFEST } from '../salt/index.ts';

/** The shipped Salt file list, as the salt/ISO code declares it. */
export interface SaltFileList {
  /** Where it is declared (relative), for findings. */
  readonly file: string;
  /** Shipped files relative to the root, e.g. `salt/metalk8s/foo.sls`. */
  readonly listed: readonly string[];
  /** Files present under `salt/` (relative to the root). */
  readonly present: readonly string[];
  /** Reason a present file is deliberately not in the list, or undefined. */
  readonly exempt: (file: string) => string | undefined;
  /** Line of each listed file in the list file (for findings). */
  readonly lines?: ReadonlyMap<string, number>;
}

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
