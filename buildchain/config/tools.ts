/**
 * The tool registry: every external program the buildchain calls (named by a task's `tools`
 * or read from `config.tools`), the `*_BIN` key that overrides it (see .env.example) and the
 * arguments printing its version (for fingerprints). HARDLINK_BIN, OPERATOR_SDK_BIN and
 * GOFMT_BIN stay known keys of .env.example (the MetalK8s 2.4 docs name them) but no tool here.
 */
import type { ToolSpec } from '../engine/task.ts';
import type { BuildConfig } from './config.ts';

interface ToolEntry {
  readonly envKey: string;
  readonly defaultBin: string;
  readonly versionArgs: readonly string[];
  /** For tools the setup command does not install. */
  readonly installHint?: string;
}

/** Tools by name. `mkisofs` is special: see {@link mkisofsArgv}. */
export const TOOL_REGISTRY: Readonly<Record<string, ToolEntry>> = {
  git: { envKey: 'GIT_BIN', defaultBin: 'git', versionArgs: ['--version'] },
  mkisofs: { envKey: 'MKISOFS_BIN', defaultBin: '', versionArgs: ['-version'] },
  xorriso: { envKey: 'XORRISO_BIN', defaultBin: 'xorriso', versionArgs: ['-version'] },
  checkisomd5: { envKey: 'CHECKISOMD5_BIN', defaultBin: 'checkisomd5', versionArgs: [] },
  isoinfo: { envKey: 'ISOINFO_BIN', defaultBin: 'isoinfo', versionArgs: ['-version'] },
  bsdtar: { envKey: 'BSDTAR_BIN', defaultBin: 'bsdtar', versionArgs: ['--version'] },
  skopeo: { envKey: 'SKOPEO_BIN', defaultBin: 'skopeo', versionArgs: ['--version'] },
  buildah: { envKey: 'BUILDAH_BIN', defaultBin: 'buildah', versionArgs: ['--version'] },
  podman: { envKey: 'PODMAN_BIN', defaultBin: 'podman', versionArgs: ['--version'] },
  docker: { envKey: 'DOCKER_BIN', defaultBin: 'docker', versionArgs: ['--version'] },
  nginx: { envKey: 'NGINX_BIN', defaultBin: 'nginx', versionArgs: ['-v'] },
  registry: { envKey: 'REGISTRY_BIN', defaultBin: 'docker-registry', versionArgs: ['--version'] },
  rpm: { envKey: 'RPM_BIN', defaultBin: 'rpm', versionArgs: ['--version'] },
  rpmbuild: { envKey: 'RPMBUILD_BIN', defaultBin: 'rpmbuild', versionArgs: ['--version'] },
  rpmspec: { envKey: 'RPMSPEC_BIN', defaultBin: 'rpmspec', versionArgs: ['--version'] },
  rpmsign: { envKey: 'RPMSIGN_BIN', defaultBin: 'rpmsign', versionArgs: ['--version'] },
  createrepo: { envKey: 'CREATEREPO_BIN', defaultBin: 'createrepo_c', versionArgs: ['--version'] },
  dnf: { envKey: 'DNF_BIN', defaultBin: 'dnf', versionArgs: ['--version'] },
  gpg: { envKey: 'GPG_BIN', defaultBin: 'gpg', versionArgs: ['--version'] },
  shellcheck: { envKey: 'SHELLCHECK_BIN', defaultBin: 'shellcheck', versionArgs: ['--version'] },
  yamllint: { envKey: 'YAMLLINT_BIN', defaultBin: 'yamllint', versionArgs: ['--version'] },
  strace: { envKey: 'STRACE_BIN', defaultBin: 'strace', versionArgs: ['-V'] },
  vagrant: {
    envKey: 'VAGRANT_BIN',
    defaultBin: 'vagrant',
    versionArgs: ['--version'],
    installHint:
      'the setup command does not install Vagrant: get it (and VirtualBox) from vagrantup.com, or set VAGRANT_BIN',
  },
};

/**
 * Resolves every tool from the effective settings. An empty `*_BIN` means the default.
 * `mkisofs` without MKISOFS_BIN resolves to the xorriso binary (run as `xorriso -as mkisofs`).
 */
export function resolveTools(env: Readonly<Record<string, string>>): Record<string, ToolSpec> {
  const tools: Record<string, ToolSpec> = {};
  for (const [name, entry] of Object.entries(TOOL_REGISTRY)) {
    const value = env[entry.envKey] ?? '';
    tools[name] = {
      name,
      bin: value !== '' ? value : entry.defaultBin,
      envKey: entry.envKey,
      versionArgs: entry.versionArgs,
      ...(entry.installHint === undefined ? {} : { installHint: entry.installHint }),
    };
  }
  const xorriso = tools.xorriso;
  if ((env.MKISOFS_BIN ?? '') === '' && xorriso !== undefined) {
    tools.mkisofs = { ...xorriso, name: 'mkisofs', envKey: 'MKISOFS_BIN' };
  }
  return tools;
}

/** argv prefix of the mkisofs-compatible writer: `[MKISOFS_BIN]` or `[xorriso, -as, mkisofs]`. */
export function mkisofsArgv(config: Pick<BuildConfig, 'env' | 'tools'>): string[] {
  const own = config.env.MKISOFS_BIN ?? '';
  if (own !== '') return [own];
  return [config.tools.xorriso?.bin ?? 'xorriso', '-as', 'mkisofs'];
}
