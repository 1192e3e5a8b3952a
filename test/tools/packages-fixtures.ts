/** Small RPM fixtures for the packaging suites: noarch specs, rpmbuild, RPMs signed with a test key. */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execDirect } from '../../buildchain/engine/exec/run-command.ts';
import { resolveOnPath, rpmsignArgs } from '../../buildchain/tasks/packages/signing.ts';
import type { TestKey } from '../helpers/gpg.ts';
import { runCliHere, type CliResult } from '../helpers/run-cli.ts';
import { REPO_ROOT } from '../helpers/workspace.ts';

/** A tiny noarch package. */
export interface TestPackage {
  readonly name: string;
  readonly version: string;
  readonly release?: string;
  readonly requires?: readonly string[];
  /** Content of the one installed file (default: the name). */
  readonly content?: string;
}

/** Text of a noarch spec installing `/usr/share/<name>/<name>.txt`. */
export function noarchSpec(p: TestPackage): string {
  return [
    `Name: ${p.name}`,
    `Version: ${p.version}`,
    `Release: ${p.release ?? '1'}%{?dist}`,
    `Summary: test package ${p.name}`,
    'License: MIT',
    'BuildArch: noarch',
    ...(p.requires ?? []).map((r) => `Requires: ${r}`),
    '',
    '%description',
    `Test package ${p.name}.`,
    '',
    '%install',
    `mkdir -p %{buildroot}/usr/share/${p.name}`,
    `echo '${p.content ?? p.name}' > %{buildroot}/usr/share/${p.name}/${p.name}.txt`,
    '',
    '%files',
    `/usr/share/${p.name}/${p.name}.txt`,
    '',
  ].join('\n');
}

/** Builds the package with rpmbuild in a private topdir under `work`; returns the RPM path. */
export async function buildTestRpm(work: string, p: TestPackage): Promise<string> {
  const topdir = path.join(work, `top-${p.name}-${p.version}`);
  await mkdir(path.join(topdir, 'SPECS'), { recursive: true });
  const spec = path.join(topdir, 'SPECS', `${p.name}.spec`);
  await writeFile(spec, noarchSpec(p));
  await execDirect(['rpmbuild', '--quiet', '--define', `_topdir ${topdir}`, '-bb', spec]);
  return path.join(
    topdir,
    'RPMS',
    'noarch',
    `${p.name}-${p.version}-${p.release ?? '1'}.noarch.rpm`,
  );
}

/** Copies RPMs into `dir` and runs createrepo_c there. */
export async function makeRepo(dir: string, rpms: readonly string[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const r of rpms) await copyFile(r, path.join(dir, path.basename(r)));
  await execDirect(['createrepo_c', '--quiet', dir]);
}

/** The package list of {@link packagingWorkspace}. */
export interface WorkspaceList {
  /** Upstream repos: name → base URL (no keys). */
  readonly repos?: Readonly<Record<string, string>>;
  /** Packages in list order: built from `packages-specs/<name>/` or taken from `repo`. */
  readonly packages: readonly { readonly name: string; readonly repo?: string }[];
}

/**
 * A project for the packaging CLI at `dir`: the repository's .env.example, VERSION 2.4,
 * packages-specs/redhat-7.yaml (el7) with `list`, and an empty `packages-specs/<name>/` per
 * built package (its spec and sources are the caller's).
 */
export async function packagingWorkspace(dir: string, list: WorkspaceList): Promise<void> {
  await mkdir(path.join(dir, 'packages-specs'), { recursive: true });
  for (const p of list.packages)
    if (p.repo === undefined) await mkdir(path.join(dir, 'packages-specs', p.name));
  await copyFile(path.join(REPO_ROOT, '.env.example'), path.join(dir, '.env.example'));
  await writeFile(path.join(dir, 'VERSION'), 'VERSION_MAJOR=2\nVERSION_MINOR=4\n');
  const repos = Object.entries(list.repos ?? {});
  await writeFile(
    path.join(dir, 'packages-specs', 'redhat-7.yaml'),
    [
      'osFamily: redhat-7',
      'releasever: "7"',
      'distTag: el7',
      ...(repos.length === 0
        ? ['repos: []']
        : [
            'repos:',
            ...repos.map(([name, url]) => `  - { name: ${name}, baseUrl: "${url}", gpgKeys: [] }`),
          ]),
      'packages:',
      ...list.packages.map((p) =>
        p.repo === undefined
          ? `  - { name: ${p.name}, built: true }`
          : `  - { name: ${p.name}, repo: ${p.repo} }`,
      ),
      '',
    ].join('\n'),
  );
}

/** The tasks module the packaging suites give the CLI: the packaging tasks alone. */
export const PACKAGING_TASKS_MODULE = path.join(import.meta.dirname, 'packages-tasks-module.ts');

/**
 * The build CLI's main, in this process, in the {@link packagingWorkspace} `ws` with the
 * packaging tasks alone, SOURCES=upstream and SOURCE_DATE_EPOCH=1700000000 (PATH and HOME
 * as this process has them); `console`: the console reporter instead of JSON events; `env`:
 * more settings (e.g. the build cache's).
 */
export function runPackagingCli(
  ws: string,
  args: readonly string[],
  opts: { readonly console?: boolean; readonly env?: Record<string, string> } = {},
): Promise<CliResult> {
  return runCliHere(ws, ['--tasks-module', PACKAGING_TASKS_MODULE, ...args], {
    ...opts,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/root',
      SOURCES: 'upstream',
      SOURCE_DATE_EPOCH: '1700000000',
      ...opts.env,
    },
  });
}

/** Signs `files` in place with rpmsign and `key`. */
export async function signRpms(key: TestKey, files: readonly string[]): Promise<void> {
  await execDirect(
    rpmsignArgs({ bin: 'rpmsign', gpgPath: resolveOnPath('gpg'), keyName: key.keyName, files }),
    {
      env: { GNUPGHOME: key.home },
      input: '',
    },
  );
}
