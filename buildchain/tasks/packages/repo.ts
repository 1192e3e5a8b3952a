/**
 * Assembling one yum repository on the ISO root: RPMs (hard-linked from BUILD_ROOT), GPG key
 * files, repodata from createrepo_c (deterministic), and an optional `repomd.xml.asc`. The repo
 * is built in a staging dir and renamed over the old one: stale RPMs from an older version never
 * stay, and a failure never leaves a half-built repo looking valid.
 */
import type { Dirent } from 'node:fs';
import { copyFile, mkdir, rm, stat, utimes } from 'node:fs/promises';
import path from 'node:path';
import { removeAllInside } from '../../lib/fs/fence.ts';
import { linkOrCopy, replaceDir } from '../../lib/fs/staging.ts';
import { listDirSync, walkTree } from '../../lib/fs/walk.ts';
import type { Exec } from '../../engine/exec/run-command.ts';
import { TaskError } from '../../engine/task.ts';
import type { Log } from './output.ts';
import { gpgDetachSignArgs } from '../../lib/gpg-args.ts';
import { gpgExportArgs, withGpgAgentCleanup } from './signing.ts';
import { createrepoArgs } from './createrepo-args.ts';

/** A file to place in the repo. */
export interface RepoFile {
  /** Absolute source path. */
  readonly src: string;
  /** Path inside the repo dir, e.g. `x86_64/foo-1-1.x86_64.rpm` or `RPM-GPG-KEY-...`. */
  readonly dest: string;
}

/** Options for {@link assembleRepo}. */
export interface AssembleRepoOptions {
  /** Final dir, e.g. `<isoRoot>/packages/redhat/metalk8s-epel-el7`. */
  readonly dir: string;
  /** Staging dir on the same filesystem (removed first). */
  readonly staging: string;
  readonly rpms: readonly RepoFile[];
  /** Key files, copied (not linked: they are small and their mtime is set). */
  readonly keys: readonly RepoFile[];
  /** SOURCE_DATE_EPOCH: repodata revision and the mtime of every file. */
  readonly epoch: number;
  readonly exec: Exec;
  readonly log?: Log;
  readonly createrepoBin?: string;
  /** Sign `repodata/repomd.xml` and export the public key as `exportKeyAs` (optional). */
  readonly sign?: { keyName: string; gpgBin?: string; gnupgHome?: string; exportKeyAs?: string };
}

async function setTreeTimes(dir: string, epoch: number): Promise<void> {
  // Deepest first so that setting a directory's time is not undone by writes below it.
  const paths = (await walkTree(dir)).map((e) => e.path).sort((a, b) => b.length - a.length);
  for (const p of [...paths, dir]) await utimes(p, epoch, epoch);
}

function gpgEnv(gnupgHome: string | undefined): Record<string, string> {
  return gnupgHome === undefined ? {} : { GNUPGHOME: gnupgHome };
}

/** Writes `repodata/repomd.xml.asc`; stops the gpg-agent that signing started. */
async function signRepomd(
  exec: Exec,
  repoDir: string,
  sign: NonNullable<AssembleRepoOptions['sign']>,
): Promise<void> {
  const repomd = path.join(repoDir, 'repodata', 'repomd.xml');
  const home = sign.gnupgHome === undefined ? {} : { gnupgHome: sign.gnupgHome };
  const gpgBin = sign.gpgBin ?? 'gpg';
  await withGpgAgentCleanup(exec, { gpgBin, ...home }, () =>
    exec(gpgDetachSignArgs({ bin: gpgBin, keyName: sign.keyName, file: repomd }), {
      env: gpgEnv(sign.gnupgHome),
    }),
  );
  // A signed build never ships a repo without its signature (a gpg that exits 0 and writes
  // nothing, e.g. a wrong GPG_BIN, must not pass).
  const asc = await stat(`${repomd}.asc`).catch(() => undefined);
  if (asc === undefined || asc.size === 0)
    throw new TaskError(
      'target-not-produced',
      `${sign.gpgBin ?? 'gpg'} did not write ${path.basename(repoDir)}/repodata/repomd.xml.asc`,
      { hint: 'Check GPG_BIN, RPM_SIGN_KEY and GNUPGHOME: gpg must sign with that key.' },
    );
}

/** Builds the repo in `staging`, then replaces `dir` with it. */
export async function assembleRepo(o: AssembleRepoOptions): Promise<void> {
  await rm(o.staging, { recursive: true, force: true });
  await mkdir(o.staging, { recursive: true });
  for (const f of o.rpms) {
    const dest = path.join(o.staging, f.dest);
    await mkdir(path.dirname(dest), { recursive: true });
    await linkOrCopy(f.src, dest);
    // primary.xml records each RPM's mtime: fix it (this also touches the cached hard link).
    await utimes(dest, o.epoch, o.epoch);
  }
  for (const k of o.keys) await copyFile(k.src, path.join(o.staging, k.dest));
  if (o.sign?.exportKeyAs !== undefined) {
    const { keyName, gpgBin, gnupgHome, exportKeyAs } = o.sign;
    await o.exec(
      gpgExportArgs({ bin: gpgBin ?? 'gpg', keyName, out: path.join(o.staging, exportKeyAs) }),
      { env: gpgEnv(gnupgHome) },
    );
  }
  o.log?.(`createrepo_c ${path.basename(o.dir)} (${o.rpms.length} RPMs)`);
  await o.exec(
    createrepoArgs({ bin: o.createrepoBin ?? 'createrepo_c', dir: o.staging, epoch: o.epoch }),
  );
  if (o.sign !== undefined) await signRepomd(o.exec, o.staging, o.sign);
  await setTreeTimes(o.staging, o.epoch);
  await mkdir(path.dirname(o.dir), { recursive: true });
  await replaceDir(o.staging, o.dir);
}

/**
 * Repo dirs under `isoRepos` named like ours (`<prefix>-*-<distTag>`) that are not in `keep`:
 * repos dropped from the package list (or renamed with PROJECT_NAME unchanged).
 */
export function staleRepoDirs(
  isoRepos: string,
  keep: readonly string[],
  prefix: string,
  distTag: string,
): string[] {
  let entries: readonly Dirent[] = [];
  try {
    // The directory the closure check and the temp sweep list too: read once (listDirSync).
    entries = listDirSync(isoRepos);
  } catch {
    // no repos yet
  }
  return entries
    .filter(
      (e) =>
        e.isDirectory() &&
        e.name.startsWith(`${prefix}-`) &&
        e.name.endsWith(`-${distTag}`) &&
        !keep.includes(e.name),
    )
    .map((e) => path.join(isoRepos, e.name))
    .sort();
}

/**
 * Removes the {@link staleRepoDirs}; returns what was removed. Only inside `fence` (the build
 * directory): when one resolves outside it (a symlinked `isoRepos`), nothing is removed and a
 * FenceError (`invalid-input`) is thrown.
 */
export async function pruneRepoDirs(
  fence: string,
  isoRepos: string,
  keep: readonly string[],
  prefix: string,
  distTag: string,
): Promise<string[]> {
  const stale = staleRepoDirs(isoRepos, keep, prefix, distTag);
  await removeAllInside(fence, stale);
  return stale;
}
