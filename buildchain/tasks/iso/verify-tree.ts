/**
 * Checks of an extracted ISO tree (pure file reads, no tools): the report, layout, yum
 * repositories (repodata vs RPMs). Images: verify-images.ts; image archives: verify-archives.ts.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { walkTree, type WalkEntry } from '../../lib/fs/walk.ts';
import { problem, type Problem } from '../../lib/problem.ts';

/** Problems found (empty: fine) and what was checked, for the report. */
export interface CheckReport {
  readonly checked: string[];
  /** Rendered by {@link formatProblem} as `subject: message` (e.g. `layout: x is missing`). */
  readonly problems: Problem[];
}

export function newReport(): CheckReport {
  return { checked: [], problems: [] };
}

/** Records a problem of the ISO: `subject: message` when rendered, always an error. */
export function addProblem(
  report: CheckReport,
  kind: string,
  subject: string,
  message: string,
): void {
  report.problems.push(problem(kind, subject, message));
}

export async function digestOf(file: string, algo = 'sha256'): Promise<string> {
  const h = createHash(algo);
  for await (const c of createReadStream(file, { highWaterMark: 4 << 20 })) h.update(c as Buffer);
  return h.digest('hex');
}

export async function isFile(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isFile(),
    () => false,
  );
}

export async function subdirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/** Every path in `required` (relative) must exist in the tree. */
export async function checkLayout(
  tree: string,
  required: readonly string[],
  report: CheckReport,
): Promise<void> {
  for (const rel of required) {
    const ok = await stat(path.join(tree, rel)).then(
      () => true,
      () => false,
    );
    if (!ok) addProblem(report, 'missing-file', 'layout', `${rel} is missing`);
  }
  report.checked.push(`layout: ${required.length} required entries`);
}

/** `{ href, checksum, type }` of each `<data>` entry of repomd.xml. */
export function parseRepomd(
  xml: string,
): { type: string; href: string; checksum: string; algo: string }[] {
  const out = [];
  for (const m of xml.matchAll(/<data type="([^"]+)">([\s\S]*?)<\/data>/g)) {
    const body = m[2] ?? '';
    const cs = /<checksum type="([^"]+)">([a-f0-9]+)<\/checksum>/.exec(body);
    const href = /<location href="([^"]+)"/.exec(body)?.[1];
    if (cs?.[1] !== undefined && cs[2] !== undefined && href !== undefined) {
      out.push({ type: m[1] ?? '', href, checksum: cs[2], algo: cs[1] });
    }
  }
  return out;
}

/** `{ href, checksum, algo }` of each package in primary.xml. */
export function parsePrimary(xml: string): { href: string; checksum: string; algo: string }[] {
  const out = [];
  for (const m of xml.matchAll(/<package type="rpm">([\s\S]*?)<\/package>/g)) {
    const body = m[1] ?? '';
    const cs = /<checksum type="([^"]+)"[^>]*>([a-f0-9]+)<\/checksum>/.exec(body);
    const href = /<location (?:xml:base="[^"]*" )?href="([^"]+)"/.exec(body)?.[1];
    if (cs?.[1] !== undefined && cs[2] !== undefined && href !== undefined) {
      out.push({ href, checksum: cs[2], algo: cs[1] === 'sha' ? 'sha1' : cs[1] });
    }
  }
  return out;
}

/** RPM files under `dir` (relative), `repodata/` directories skipped. */
async function rpmsUnder(dir: string): Promise<string[]> {
  const notRepodata = (e: WalkEntry): boolean =>
    !(e.kind === 'dir' && path.basename(e.rel) === 'repodata');
  return (await walkTree(dir, { filter: notRepodata }))
    .filter((e) => e.kind === 'file' && e.rel.endsWith('.rpm'))
    .map((e) => e.rel);
}

/** One repo: repomd checksums, primary's packages present with matching checksums, no extra RPM. */
async function checkRepo(repo: string, label: string, report: CheckReport): Promise<number> {
  const entries = parseRepomd(await readFile(path.join(repo, 'repodata', 'repomd.xml'), 'utf8'));
  let primary: ReturnType<typeof parsePrimary> | undefined;
  for (const e of entries) {
    const file = path.join(repo, e.href);
    if (!(await isFile(file))) {
      addProblem(report, 'missing-file', `repo ${label}`, `${e.href} is missing`);
      continue;
    }
    const actual = await digestOf(file, e.algo === 'sha' ? 'sha1' : e.algo);
    if (actual !== e.checksum)
      addProblem(report, 'digest-mismatch', `repo ${label}`, `${e.href} checksum mismatch`);
    else if (e.type === 'primary')
      primary = parsePrimary(gunzipSync(await readFile(file)).toString('utf8'));
  }
  if (primary === undefined) {
    addProblem(report, 'repodata-invalid', `repo ${label}`, 'no valid primary metadata');
    return 0;
  }
  const listed = new Set(primary.map((p) => p.href));
  for (const p of primary) {
    const file = path.join(repo, p.href);
    if (!(await isFile(file)))
      addProblem(report, 'missing-file', `repo ${label}`, `${p.href} listed but missing`);
    else if ((await digestOf(file, p.algo)) !== p.checksum)
      addProblem(report, 'digest-mismatch', `repo ${label}`, `${p.href} checksum mismatch`);
  }
  for (const rpm of await rpmsUnder(repo)) {
    if (!listed.has(rpm))
      addProblem(report, 'repodata-mismatch', `repo ${label}`, `${rpm} is not in the repodata`);
  }
  return primary.length;
}

/** Every directory holding `repodata/repomd.xml` under `packages/`. */
export async function checkRepositories(tree: string, report: CheckReport): Promise<string[]> {
  const repos: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    if (await isFile(path.join(dir, 'repodata', 'repomd.xml'))) {
      repos.push(dir);
      return;
    }
    for (const d of await subdirs(dir)) await walk(path.join(dir, d));
  };
  await walk(path.join(tree, 'packages'));
  let rpms = 0;
  for (const r of repos) rpms += await checkRepo(r, path.relative(tree, r), report);
  report.checked.push(`repositories: ${repos.length} repos, ${rpms} RPMs`);
  return repos.map((r) => path.relative(tree, r));
}
