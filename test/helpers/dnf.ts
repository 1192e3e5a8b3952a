/**
 * dnf as a MetalK8s node uses the ISO's yum repositories, for install tests: no host
 * configuration (`reposdir=/dev/null`), each given repo enabled from a directory with
 * gpgcheck=1 and its `RPM-GPG-KEY-*` files when it has some (salt/metalk8s/repo/configured.sls),
 * packages installed into a fresh `--installroot`.
 */
import path from 'node:path';
import { execDirect, type ExecResult } from '../../buildchain/engine/exec/run-command.ts';

/** One yum repository (a directory with `repodata/`) as the node enables it. */
export interface DnfRepo {
  /** The repo id. */
  readonly name: string;
  /** Absolute path of the repository directory. */
  readonly dir: string;
  /** Absolute paths of its public keys: gpgcheck=1 with them, gpgcheck=0 when none. */
  readonly keys?: readonly string[];
}

/** Options of {@link dnfArgs}. */
export interface DnfOptions {
  readonly repos: readonly DnfRepo[];
  /** repo_gpgcheck of every repo (signed repodata), default false. */
  readonly repoGpgcheck?: boolean;
  /**
   * Directory for dnf's cache, logs and state. Default: dnf's own, which with `--installroot`
   * is inside the root; a command without one (repoclosure, repoquery) needs it.
   */
  readonly stateDir?: string;
}

/** `dnf` with no host config or state, every repo of `repos` enabled; add the command. */
export function dnfArgs(o: DnfOptions): string[] {
  const state = o.stateDir;
  return [
    'dnf',
    '-y',
    '-q',
    '--refresh',
    '--releasever=7',
    '--forcearch=x86_64',
    '--setopt=reposdir=/dev/null',
    '--setopt=skip_if_unavailable=False',
    ...(state === undefined
      ? []
      : [
          `--setopt=cachedir=${path.join(state, 'cache')}`,
          `--setopt=system_cachedir=${path.join(state, 'cache')}`,
          `--setopt=logdir=${path.join(state, 'log')}`,
          `--setopt=persistdir=${path.join(state, 'lib')}`,
        ]),
    ...o.repos.flatMap((r) => {
      const keys = r.keys ?? [];
      return [
        `--repofrompath=${r.name},file://${r.dir}`,
        `--repo=${r.name}`,
        `--setopt=${r.name}.gpgcheck=${keys.length > 0 ? '1' : '0'}`,
        ...(keys.length > 0
          ? [`--setopt=${r.name}.gpgkey=${keys.map((k) => `file://${k}`).join(',')}`]
          : []),
        `--setopt=${r.name}.repo_gpgcheck=${o.repoGpgcheck === true ? '1' : '0'}`,
      ];
    }),
  ];
}

/**
 * Installs `packages` into the fresh root `root` from `o.repos` (weak dependencies off, as a
 * node's minimal install). Never rejects: the caller asserts on the exit code and output.
 */
export function dnfInstall(
  root: string,
  packages: readonly string[],
  o: DnfOptions,
): Promise<ExecResult> {
  return execDirect(
    [
      ...dnfArgs(o),
      `--installroot=${root}`,
      '--setopt=install_weak_deps=False',
      'install',
      ...packages,
    ],
    { reject: false },
  );
}
