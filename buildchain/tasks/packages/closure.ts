/**
 * `packaging:closure`: the ISO's yum repos, enabled together as a node enables them (one repo per
 * `packages/redhat/<dir>/`, gpg-checked with its `RPM-GPG-KEY-*` files when it has some, see
 * `salt/metalk8s/repo/configured.sls`; `repo_gpgcheck=1` everywhere on a signed build), must be
 * closed: `dnf repoclosure` finds a provider for every requirement of every package. A failure
 * names each package and what it misses.
 */
import { existsSync, readdirSync, readFileSync, type Dirent } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Exec } from '../../engine/exec/run-command.ts';
import { TaskError } from '../../engine/task.ts';
import { sha256Hex } from '../../lib/fs/hash.ts';
import { DNF_CONFIG, dnfConfigPath, dnfHermeticArgs } from './dnf-args.ts';
import { tailLines, type Log } from './output.ts';
import { gpgKillAgentArgs, gpgSiblingTool } from './signing.ts';

/** One repo of the ISO as a node enables it. */
export interface NodeRepo {
  /** Repo id: the directory name (`metalk8s-base-el7`). */
  readonly name: string;
  readonly dir: string;
  /** Absolute paths of the repo's `RPM-GPG-KEY-*` files, sorted (empty: gpgcheck=0). */
  readonly keys: readonly string[];
}

/**
 * Every directory of `isoRepos` holding repodata, with its key files, as the node lists them.
 * Synchronous: the closure task's target check runs it on every evaluation, no-ops included,
 * and a few readdirs in a row cost less than their round trips through the thread pool.
 */
export function nodeRepos(isoRepos: string): NodeRepo[] {
  const out: NodeRepo[] = [];
  let entries: Dirent[] = [];
  try {
    entries = readdirSync(isoRepos, { withFileTypes: true });
  } catch {
    // no repos yet
  }
  for (const e of entries
    .filter((x) => x.isDirectory())
    .sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const dir = path.join(isoRepos, e.name);
    if (!existsSync(path.join(dir, 'repodata', 'repomd.xml'))) continue;
    const keys = readdirSync(dir)
      .filter((f) => f.startsWith('RPM-GPG-KEY-'))
      .sort()
      .map((f) => path.join(dir, f));
    out.push({ name: e.name, dir, keys });
  }
  return out;
}

/** Digest of what a node enables: each repo's name, key file names and repomd.xml. */
export function repoSetDigest(isoRepos: string): string {
  const parts: string[] = [];
  for (const r of nodeRepos(isoRepos)) {
    let repomd: Buffer | string = '';
    try {
      repomd = readFileSync(path.join(r.dir, 'repodata', 'repomd.xml'));
    } catch {
      // gone since it was listed: hashed as empty
    }
    parts.push(JSON.stringify([r.name, r.keys.map((k) => path.basename(k)), sha256Hex(repomd)]));
  }
  return sha256Hex(parts.join('\n'));
}

/**
 * The content the check reads, as the build cache's key material: per repo its name, the
 * sha256 of `repomd.xml` (which pins the rest of the repodata by checksum) and of
 * `repomd.xml.asc`, and of each key file.
 */
export async function repoSetContent(isoRepos: string): Promise<unknown> {
  const out: Record<string, unknown> = {};
  const digest = (f: string) => readFile(f).then(sha256Hex, () => null);
  for (const r of nodeRepos(isoRepos)) {
    const keys: Record<string, string | null> = {};
    for (const k of r.keys) keys[path.basename(k)] = await digest(k);
    out[r.name] = {
      repomd: await digest(path.join(r.dir, 'repodata', 'repomd.xml')),
      asc: await digest(path.join(r.dir, 'repodata', 'repomd.xml.asc')),
      keys,
    };
  }
  return out;
}

/** Options of {@link repoclosureArgs}. */
export interface RepoclosureOptions {
  readonly bin: string;
  /** Private dir for dnf's config, cache, logs and state. */
  readonly workDir: string;
  readonly releasever: string;
  readonly basearch?: string;
  readonly repos: readonly NodeRepo[];
  /** repo_gpgcheck=1 on every repo (signed builds). */
  readonly repoGpgcheck: boolean;
}

/** `dnf repoclosure` over `repos` (file:// URLs), hermetic, with the node's gpg settings. Pure. */
export function repoclosureArgs(o: RepoclosureOptions): string[] {
  const base = dnfHermeticArgs({
    bin: o.bin,
    workDir: o.workDir,
    releasever: o.releasever,
    ...(o.basearch === undefined ? {} : { basearch: o.basearch }),
    repos: o.repos.map((r) => ({ name: r.name, url: `file://${r.dir}` })),
  });
  const settings = o.repos.flatMap((r) => [
    `--setopt=${r.name}.gpgcheck=${r.keys.length > 0 ? '1' : '0'}`,
    ...(r.keys.length > 0
      ? [`--setopt=${r.name}.gpgkey=${r.keys.map((k) => `file://${k}`).join(',')}`]
      : []),
    `--setopt=${r.name}.repo_gpgcheck=${o.repoGpgcheck ? '1' : '0'}`,
  ]);
  return [...base, ...settings, 'repoclosure'];
}

/** A package with requirements no enabled repo provides. */
export interface UnresolvedPackage {
  /** NEVRA, e.g. `metalk8s-sosreport-2.4-1.el7.noarch`. */
  readonly pkg: string;
  readonly repo: string;
  readonly missing: readonly string[];
}

/**
 * Parses repoclosure's report:
 * `package: NEVRA from REPO` / `  unresolved deps (N):` / `    DEP` lines.
 */
export function parseRepoclosure(stdout: string): UnresolvedPackage[] {
  const out: { pkg: string; repo: string; missing: string[] }[] = [];
  for (const line of stdout.split('\n')) {
    const head = /^package: (\S+) from (\S+)\s*$/.exec(line);
    if (head?.[1] !== undefined && head[2] !== undefined) {
      out.push({ pkg: head[1], repo: head[2], missing: [] });
      continue;
    }
    const dep = /^ {4}(\S.*?)\s*$/.exec(line);
    if (dep?.[1] !== undefined && out.length > 0) out.at(-1)?.missing.push(dep[1]);
  }
  return out;
}

/** Options of {@link checkRepoClosure}. */
export interface ClosureOptions {
  /** `<isoRoot>/packages/redhat`. */
  readonly isoRepos: string;
  readonly workDir: string;
  readonly releasever: string;
  readonly basearch?: string;
  /** A signing key is set: every repo must carry `repodata/repomd.xml.asc` and verify. */
  readonly signed: boolean;
  readonly exec: Exec;
  readonly dnfBin?: string;
  readonly log?: Log;
  /** Where the list of packages is (for hints), e.g. `packages-specs/redhat-7.yaml`. */
  readonly listFile: string;
}

/** Result of a passed check. */
export interface ClosureReport {
  readonly repos: readonly { readonly name: string; readonly gpgcheck: boolean }[];
  readonly repoGpgcheck: boolean;
}

function requireSignatures(repos: readonly NodeRepo[]): void {
  for (const r of repos) {
    if (!existsSync(path.join(r.dir, 'repodata', 'repomd.xml.asc')))
      throw new TaskError(
        'invalid-input',
        `signed build: repo ${r.name} has no repodata/repomd.xml.asc, so a node with repo_gpgcheck=1 refuses it`,
        {
          hint: `Assemble it again with RPM_SIGN_KEY set: npm run build -- forget packaging:repo:${r.name} (or remove ${r.dir} if the package list no longer has it).`,
        },
      );
    if (r.keys.length === 0)
      throw new TaskError(
        'invalid-input',
        `signed build: repo ${r.name} ships no RPM-GPG-KEY-* file to check its repodata signature with`,
        { hint: `npm run build -- forget packaging:repo:${r.name}` },
      );
  }
}

/**
 * Stops the gpg-agents dnf started for the repos' keyrings (`<cache>/<repo>-<hash>/pubring`,
 * with repo_gpgcheck): a build leaves no daemon behind.
 */
async function stopKeyringAgents(exec: Exec, cache: string): Promise<void> {
  for (const e of await readdir(cache, { withFileTypes: true }).catch(() => [])) {
    const home = path.join(cache, e.name, 'pubring');
    if (!e.isDirectory() || !existsSync(home)) continue;
    await exec(
      gpgKillAgentArgs({ gpgconfBin: gpgSiblingTool('gpg', 'gpgconf'), gnupgHome: home }),
      {
        reject: false,
      },
    ).catch(() => undefined);
  }
}

/** Runs the check; throws a TaskError naming every package and missing requirement. */
export async function checkRepoClosure(o: ClosureOptions): Promise<ClosureReport> {
  const repos = nodeRepos(o.isoRepos);
  if (repos.length === 0)
    throw new TaskError('internal-error', `no yum repository under ${o.isoRepos}`);
  if (o.signed) requireSignatures(repos);
  await rm(o.workDir, { recursive: true, force: true });
  await mkdir(path.join(o.workDir, 'log'), { recursive: true });
  await writeFile(dnfConfigPath(o.workDir), DNF_CONFIG);
  const argv = repoclosureArgs({
    bin: o.dnfBin ?? 'dnf',
    workDir: o.workDir,
    releasever: o.releasever,
    ...(o.basearch === undefined ? {} : { basearch: o.basearch }),
    repos,
    repoGpgcheck: o.signed,
  });
  o.log?.(
    `dnf repoclosure over ${String(repos.length)} repos${o.signed ? ' (repo_gpgcheck=1)' : ''}`,
  );
  const r = await o
    .exec(argv, { reject: false, env: { LC_ALL: 'C' } })
    .finally(() => stopKeyringAgents(o.exec, path.join(o.workDir, 'cache')));
  const details = { argv, exitCode: r.exitCode, stderrTail: tailLines(r.stderr) };
  const unresolved = parseRepoclosure(r.stdout);
  if (unresolved.length > 0) {
    const text = unresolved
      .map((u) => `${u.pkg} (${u.repo}) requires ${u.missing.join(', ')}`)
      .join('; ');
    throw new TaskError(
      'invalid-input',
      `the ISO's yum repos are not closed (no repo provides these requirements): ${text}`,
      {
        ...details,
        hint: `Add the package (or repo) providing it to ${o.listFile} so that the download fetches it, or fix the requirement.`,
      },
    );
  }
  if (r.exitCode !== 0) {
    const gpg = /repo '([^']+)'.*(GPG|signature)/i.exec(r.stderr);
    if (gpg?.[1] !== undefined)
      throw new TaskError(
        'invalid-input',
        `repo ${gpg[1]}: repodata/repomd.xml.asc does not verify with the repo's RPM-GPG-KEY-* files`,
        { ...details, hint: `npm run build -- forget packaging:repo:${gpg[1]}` },
      );
    throw new TaskError(
      'command-failed',
      `dnf repoclosure failed (exit ${String(r.exitCode)}): ${tailLines(r.stderr, 3).join('; ')}`,
      details,
    );
  }
  return {
    repos: repos.map((x) => ({ name: x.name, gpgcheck: x.keys.length > 0 })),
    repoGpgcheck: o.signed,
  };
}
