/**
 * The package list of one OS family (`packages-specs/<osFamily>.yaml`), parsed and validated.
 * (PACKAGE_MIRRORS is parsed in `mirrors.ts`.)
 *
 * Errors are `TaskError('invalid-input')` naming the file, the entry and the fix.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseYaml as parse } from '../lib/text/parse-yaml.ts';
import { TaskError } from '../engine/task.ts';
import type { PackageList, PackageSpec, RepoSpec } from './content-types.ts';

/** Options for {@link loadPackageList}. */
export interface LoadPackageListOptions {
  /** PROJECT_NAME: repo names on the ISO are `<project lower>-<repo>-<distTag>`. */
  readonly projectName?: string;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const REPO_RE = /^[a-z0-9][a-z0-9_-]*$/;
const VERSION_RE = /^[A-Za-z0-9._+~^]+$/;

/** Name of the repo that receives packages built from `packages-specs/`. */
export const LOCAL_REPO = 'scality';

/** Absolute path of the package list file of an OS family. */
export function packageListPath(root: string, osFamily: string): string {
  return path.join(root, 'packages-specs', `${osFamily}.yaml`);
}

function fail(file: string, what: string, hint: string): never {
  throw new TaskError('invalid-input', `${file}: ${what}`, { hint });
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

function optString(file: string, where: string, obj: Record<string, unknown>, key: string) {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return String(v);
  if (typeof v !== 'string' || v === '') {
    fail(file, `${where}: '${key}' must be a non-empty string`, `Quote it: ${key}: "..."`);
  }
  return v;
}

function reqString(file: string, where: string, obj: Record<string, unknown>, key: string) {
  const v = optString(file, where, obj, key);
  if (v === undefined) fail(file, `${where}: '${key}' is missing`, `Add '${key}:' to ${where}.`);
  return v;
}

/** Replaces `$releasever` / `$basearch` (yum variables) in a URL. */
export function expandRepoVars(url: string, releasever: string, basearch: string): string {
  return url.replaceAll('$releasever', releasever).replaceAll('$basearch', basearch);
}

function parseRepo(
  file: string,
  raw: unknown,
  index: number,
  ctx: { releasever: string; basearch: string; prefix: string; distTag: string },
): RepoSpec {
  const where = `repos[${index}]`;
  const obj = asRecord(raw) ?? fail(file, `${where} must be a mapping`, 'See redhat-7.yaml.');
  const name = reqString(file, where, obj, 'name');
  if (!REPO_RE.test(name) || name === LOCAL_REPO) {
    fail(file, `${where}: invalid repo name '${name}'`, `Use [a-z0-9_-], not '${LOCAL_REPO}'.`);
  }
  const baseUrl = expandRepoVars(
    reqString(file, where, obj, 'baseUrl'),
    ctx.releasever,
    ctx.basearch,
  );
  if (!/^(https?|file):\/\//.test(baseUrl)) {
    fail(file, `repo '${name}': baseUrl '${baseUrl}' is not a URL`, 'Use http(s):// or file://.');
  }
  const keys = obj.gpgKeys ?? [];
  if (
    !Array.isArray(keys) ||
    keys.some((k) => typeof k !== 'string' || !/^(https?|file):\/\//.test(k))
  ) {
    fail(file, `repo '${name}': gpgKeys must be a list of URLs`, 'Use [] for an unsigned repo.');
  }
  const gpgKeys = (keys as string[]).map((k) => expandRepoVars(k, ctx.releasever, ctx.basearch));
  return { name, baseUrl, gpgKeys, isoName: `${ctx.prefix}-${name}-${ctx.distTag}` };
}

function parsePackage(file: string, raw: unknown, index: number, repos: Set<string>): PackageSpec {
  const where = `packages[${index}]`;
  const obj = asRecord(raw) ?? fail(file, `${where} must be a mapping`, 'e.g. { name: socat }');
  const name = reqString(file, where, obj, 'name');
  if (!NAME_RE.test(name))
    fail(file, `${where}: invalid package name '${name}'`, 'Use an RPM name.');
  const version = optString(file, `package '${name}'`, obj, 'version');
  const release = optString(file, `package '${name}'`, obj, 'release');
  for (const v of [version, release]) {
    if (v !== undefined && !VERSION_RE.test(v)) {
      fail(file, `package '${name}': invalid version/release '${v}'`, 'No spaces or dashes.');
    }
  }
  if (release !== undefined && version === undefined) {
    fail(file, `package '${name}': release without version`, 'Add version: or drop release:.');
  }
  if (obj.built !== undefined && typeof obj.built !== 'boolean') {
    fail(file, `package '${name}': built must be true or false`, 'built: true');
  }
  const built = obj.built === true;
  const repo = built ? LOCAL_REPO : (optString(file, `package '${name}'`, obj, 'repo') ?? '');
  if (!built && repo !== '' && !repos.has(repo)) {
    fail(
      file,
      `package '${name}': unknown repo '${repo}'`,
      `Use one of: ${[...repos].join(', ')} (or drop repo:).`,
    );
  }
  return {
    name,
    repo,
    built,
    ...(version === undefined ? {} : { version }),
    ...(release === undefined ? {} : { release }),
  };
}

/** Validates the parsed YAML document of `file`; pure (no disk). */
export function parsePackageList(
  file: string,
  doc: unknown,
  osFamily: string,
  options: LoadPackageListOptions = {},
): PackageList {
  const top = asRecord(doc) ?? fail(file, 'must be a YAML mapping', 'See redhat-7.yaml.');
  const declared = reqString(file, 'top level', top, 'osFamily');
  if (declared !== osFamily) {
    fail(file, `osFamily is '${declared}', expected '${osFamily}'`, `Set osFamily: ${osFamily}`);
  }
  const releasever = reqString(file, 'top level', top, 'releasever');
  const basearch = optString(file, 'top level', top, 'basearch') ?? 'x86_64';
  const distTag = reqString(file, 'top level', top, 'distTag');
  const prefix = (options.projectName ?? 'MetalK8s').toLowerCase();
  if (!Array.isArray(top.repos)) fail(file, "'repos' must be a list", 'Add repos: [...]');
  if (!Array.isArray(top.packages)) fail(file, "'packages' must be a list", 'Add packages: [...]');
  const ctx = { releasever, basearch, prefix, distTag };
  const repos = (top.repos as unknown[]).map((r, i) => parseRepo(file, r, i, ctx));
  const repoNames = new Set<string>();
  for (const r of repos) {
    if (repoNames.has(r.name)) fail(file, `repo '${r.name}' is declared twice`, 'Remove one.');
    repoNames.add(r.name);
  }
  const packages = (top.packages as unknown[]).map((p, i) => parsePackage(file, p, i, repoNames));
  const seen = new Set<string>();
  for (const p of packages) {
    if (seen.has(p.name)) fail(file, `package '${p.name}' is listed twice`, 'Remove one entry.');
    seen.add(p.name);
  }
  return { osFamily, releasever, basearch, distTag, repos, packages };
}

function noPackageList(osFamily: string, file: string): TaskError {
  return new TaskError('invalid-input', `no package list for OS family '${osFamily}': ${file}`, {
    hint: 'Create it (see packages-specs/redhat-7.yaml) or choose an existing OS family.',
  });
}

/**
 * The package list `file` holds (its text from `read`, whose failure is reported as the YAML's),
 * checked, with the spec of each built package checked to exist.
 */
function checkedPackageList(
  root: string,
  file: string,
  read: () => string,
  osFamily: string,
  options: LoadPackageListOptions,
): PackageList {
  let doc: unknown;
  try {
    doc = parse(read());
  } catch (e) {
    fail(file, `invalid YAML: ${(e as Error).message}`, 'Fix the syntax.');
  }
  const list = parsePackageList(file, doc, osFamily, options);
  for (const p of list.packages.filter((x) => x.built)) {
    const spec = specPath(root, p.name);
    if (!existsSync(spec))
      fail(file, `package '${p.name}' is built but ${spec} is missing`, 'Add the spec file.');
  }
  return list;
}

/**
 * Loads `packages-specs/<osFamily>.yaml` under `root`, checks it, and checks that each built
 * package has its spec `packages-specs/<name>/<name>.spec`.
 */
export async function loadPackageList(
  root: string,
  osFamily = 'redhat-7',
  options: LoadPackageListOptions = {},
): Promise<PackageList> {
  const file = packageListPath(root, osFamily);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw noPackageList(osFamily, file);
  }
  return checkedPackageList(root, file, () => text, osFamily, options);
}

/** Same as {@link loadPackageList}, synchronously (task factories are synchronous). */
export function loadPackageListSync(
  root: string,
  osFamily = 'redhat-7',
  options: LoadPackageListOptions = {},
): PackageList {
  const file = packageListPath(root, osFamily);
  if (!existsSync(file)) throw noPackageList(osFamily, file);
  return checkedPackageList(root, file, () => readFileSync(file, 'utf8'), osFamily, options);
}

/** `packages-specs/<name>/<name>.spec` */
export function specPath(root: string, name: string): string {
  return path.join(root, 'packages-specs', name, `${name}.spec`);
}
