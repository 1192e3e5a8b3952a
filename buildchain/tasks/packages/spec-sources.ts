/**
 * The sources of a spec in `packages-specs/<name>/`: every file of that directory except the
 * spec and `sources.yaml` is a local source; `sources.yaml` lists remote files with their URL
 * and sha256, fetched (through the mirror setting) into BUILD_ROOT before rpmbuild runs.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { listDirSync } from '../../lib/fs/walk.ts';
import { parseYaml as parse } from '../../lib/text/parse-yaml.ts';
import { TaskError } from '../../engine/task.ts';
import { fetchVerified, hasVerifiedFile } from './fetch.ts';
import type { Log } from './output.ts';

/** One remote source file of a spec. */
export interface SpecSource {
  /** File name in SOURCES (the basename the spec's SourceN URL ends with). */
  readonly name: string;
  /** Upstream URL. */
  readonly url: string;
  /** Pinned sha256 of the upstream file (64 hex). */
  readonly sha256: string;
}

const SOURCES_FILE = 'sources.yaml';

/** Parses a `sources.yaml` document; pure. */
export function parseSpecSources(file: string, doc: unknown): SpecSource[] {
  const bad = (what: string): never => {
    throw new TaskError('invalid-input', `${file}: ${what}`, {
      hint: 'Each entry needs name (a file name), url (http/https) and sha256 (64 hex digits).',
    });
  };
  if (doc === null || doc === undefined) return [];
  const files = (doc as { files?: unknown }).files;
  if (files === undefined) return [];
  if (!Array.isArray(files)) bad("'files' must be a list");
  const out: SpecSource[] = [];
  (files as unknown[]).forEach((raw, i) => {
    const e = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    const { name, url, sha256 } = e;
    if (typeof name !== 'string' || !/^[A-Za-z0-9._+-]+$/.test(name)) bad(`files[${i}]: bad name`);
    if (typeof url !== 'string' || !/^https?:\/\//.test(url)) bad(`files[${i}]: bad url`);
    if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) {
      bad(`files[${i}] (${String(name)}): sha256 must be 64 lowercase hex digits`);
    }
    out.push({ name: name as string, url: url as string, sha256: sha256 as string });
  });
  const names = new Set(out.map((s) => s.name));
  if (names.size !== out.length) bad('a file name is listed twice');
  return out;
}

/** Reads `<specDir>/sources.yaml` (synchronously: task creation is synchronous). */
export function loadSpecSources(specDir: string): SpecSource[] {
  const file = path.join(specDir, SOURCES_FILE);
  if (!existsSync(file)) return [];
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new TaskError('invalid-input', `${file}: invalid YAML: ${(e as Error).message}`, {
      hint: 'Fix the syntax.',
    });
  }
  return parseSpecSources(file, doc);
}

/** Local source files of a spec directory (absolute paths, sorted). */
export function localSourceFiles(specDir: string, name: string): string[] {
  return listDirSync(specDir)
    .filter((d) => d.isFile() && d.name !== `${name}.spec` && d.name !== SOURCES_FILE)
    .map((d) => path.join(specDir, d.name))
    .sort();
}

/** Options for {@link fetchSpecSources}. */
export interface FetchSpecSourcesOptions {
  readonly pkg: string;
  readonly sources: readonly SpecSource[];
  readonly destDir: string;
  /** Maps an upstream URL to the URL to fetch (`Sources.repoUrl`). */
  readonly resolveUrl: (url: string) => Promise<string>;
  /**
   * The sha256 to expect for an upstream URL given its pin (the embedded mirror serves stand-in
   * files with their own checksums); default: the pin.
   */
  readonly checksumFor?: (url: string, pinned: string) => Promise<string>;
  readonly log?: Log;
}

/** Fetches the remote sources into `destDir/<name>`, reusing files already verified there. */
export async function fetchSpecSources(o: FetchSpecSourcesOptions): Promise<void> {
  for (const s of o.sources) {
    const sha256 = o.checksumFor === undefined ? s.sha256 : await o.checksumFor(s.url, s.sha256);
    const dest = path.join(o.destDir, s.name);
    const expected = { type: 'sha256', value: sha256 };
    if (await hasVerifiedFile(dest, expected)) continue;
    const url = await o.resolveUrl(s.url);
    o.log?.(`fetching ${s.name} from ${url}`);
    await fetchVerified(
      url,
      dest,
      expected,
      `source '${s.name}' of package '${o.pkg}'`,
      `The file served is not the one pinned in packages-specs/${o.pkg}/sources.yaml: check the mirror (SOURCES, PACKAGE_MIRRORS); update the pin only for a new upstream release.`,
    );
  }
}
