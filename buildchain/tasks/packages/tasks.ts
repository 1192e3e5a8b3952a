/**
 * Packaging tasks of one OS family (default `redhat-7`):
 *
 * - `packaging:source:<pkg>`   fetch a spec's remote sources (sha256-checked)
 * - `packaging:srpm:<pkg>`     rpmbuild -bs
 * - `packaging:rpm:<pkg>`      rpmbuild --rebuild (+ rpmsign with RPM_SIGN_KEY)
 * - `packaging:download`       resolve (dnf) + lock + download + verify
 * - `packaging:repo:<isoName>` one yum repo on the ISO root (see {@link packagingRepoDirs})
 * - `packaging:prune`          removes ISO repos the list no longer has
 * - `packaging`                all of the above
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { BuildConfig } from '../../config/config.ts';
import type { PackageList } from '../../config/content-types.ts';
import {
  LOCAL_REPO,
  loadPackageListSync,
  packageListPath,
  specPath,
} from '../../config/packages.ts';
import { fn, type ActionContext, type TaskDefinition } from '../../engine/task.ts';
import { contextExec, type Exec } from '../../engine/exec/run-command.ts';
import { expectedSha256, type Sources } from '../../sources/sources.ts';
import { assembleRepo, pruneRepoDirs, staleRepoDirs, type RepoFile } from './repo.ts';
import { buildRpms, buildSrpm, type BuiltRpm, type RpmBuildEnv } from './build.ts';
import type { Log } from './output.ts';
import {
  downloadIsFresh,
  downloadPackages,
  downloadPins,
  readLocalRequirements,
  type RepoManifest,
} from './download.ts';
import { lockPath, requestDigest } from './lock.ts';
import { checkRepoClosure, repoSetContent, repoSetDigest } from './closure.ts';
import { writeFileAtomic } from '../../lib/fs/atomic-write.ts';
import { packagingPaths, type PackagingPaths } from './paths.ts';
import { packagingSettings, type PackagingSettings } from './settings.ts';
import { fetchSpecSources, loadSpecSources, localSourceFiles } from './spec-sources.ts';

/** The OS family built when none is given. */
export const DEFAULT_OS_FAMILY = 'redhat-7';

/** Options of {@link createPackagingTasks}. */
export interface PackagingTasksOptions {
  readonly osFamily?: string;
  /** The package list (default: `packages-specs/<osFamily>.yaml`). */
  readonly list?: PackageList;
  /**
   * sha256 to expect for a spec source URL instead of its pin (e.g. the embedded mirror's
   * stand-in files), by upstream URL. Asked first; then `expectedSha256(url)` when the sources
   * object has it (the embedded mirror does); then the pin of `sources.yaml`.
   */
  readonly sourceChecksums?: Readonly<Record<string, string>>;
}

/** One repo directory produced on the ISO root. */
export interface PackagingRepoDir {
  /** Repo name (`scality`, `base`, `epel`, ...). */
  readonly repo: string;
  /** e.g. `metalk8s-epel-el7`. */
  readonly isoName: string;
  /** `<isoRoot>/packages/redhat/<isoName>` */
  readonly dir: string;
  /** The task producing it: `packaging:repo:<isoName>`. */
  readonly task: string;
}

function localRepoIsoName(config: BuildConfig, list: PackageList): string {
  return `${config.projectName.toLowerCase()}-${LOCAL_REPO}-${list.distTag ?? 'el7'}`;
}

/** The repo dirs the packaging tasks produce (for the ISO tasks to depend on). */
export function packagingRepoDirs(config: BuildConfig, list: PackageList): PackagingRepoDir[] {
  const p = packagingPaths(config.buildRoot, config.isoRoot, list.osFamily);
  const names = [
    ...(list.packages.some((x) => x.built)
      ? [{ repo: LOCAL_REPO, isoName: localRepoIsoName(config, list) }]
      : []),
    ...list.repos.map((r) => ({ repo: r.name, isoName: r.isoName })),
  ];
  return names.map((n) => ({
    ...n,
    dir: path.join(p.isoRepos, n.isoName),
    task: `packaging:repo:${n.isoName}`,
  }));
}

/**
 * Task namespace: `packaging` for the default OS family (redhat-7), `packaging:<osFamily>` for
 * another one (e.g. `packaging:redhat-8:download`), so that several families can be wired.
 * Repo tasks are `packaging:repo:<isoName>` in every case (the ISO names differ by dist tag).
 */
export function packagingNamespace(osFamily: string): string {
  return osFamily === DEFAULT_OS_FAMILY ? 'packaging' : `packaging:${osFamily}`;
}

function ns(p: PackagingPaths): string {
  return packagingNamespace(p.osFamily);
}

function builderTools(s: PackagingSettings): string[] {
  return s.builder === 'local' ? ['rpmbuild', 'rpmspec'] : [s.builder];
}

function buildEnv(config: BuildConfig, s: PackagingSettings): Omit<RpmBuildEnv, 'exec' | 'epoch'> {
  return {
    builder: { builder: s.builder, engineBin: s.engineBin, image: s.image },
    rpmbuildBin: s.builder === 'local' ? (config.tools.rpmbuild?.bin ?? 'rpmbuild') : 'rpmbuild',
    rpmspecBin: s.builder === 'local' ? (config.tools.rpmspec?.bin ?? 'rpmspec') : 'rpmspec',
    defines: s.defines,
  };
}

const BUILD_ENV_KEYS = ['RPM_BUILDER', 'RPM_BUILDER_IMAGE'];

/** The process runner and progress output that the packaging functions take from an action. */
function actionIo(ctx: ActionContext): { exec: Exec; log: Log } {
  return {
    exec: contextExec(ctx),
    log: (l) => {
      ctx.log(l);
    },
  };
}

/** gpg signing with RPM_SIGN_KEY (undefined without a key): the RPMs' and the repos'. */
function gpgSigning(
  config: BuildConfig,
  s: PackagingSettings,
): { keyName: string; gpgBin: string; gnupgHome?: string } | undefined {
  if (s.signKey === undefined) return undefined;
  return {
    keyName: s.signKey,
    gpgBin: config.tools.gpg?.bin ?? 'gpg',
    ...(s.gnupgHome === undefined ? {} : { gnupgHome: s.gnupgHome }),
  };
}

/** `packaging:<step>:<name>`: one rpmbuild step of a spec (`srpm`, `rpm`), cached. */
function rpmbuildTask(
  p: PackagingPaths,
  s: PackagingSettings,
  env: Omit<RpmBuildEnv, 'exec' | 'epoch'>,
  /** The fingerprint's parameters (the action's label) and the package name. */
  params: { readonly name: string; readonly [key: string]: unknown },
  step: {
    readonly step: 'srpm' | 'rpm';
    readonly doc: string;
    readonly fileDeps: string[];
    readonly targets: string[];
    readonly tools: string[];
    readonly envKeys: string[];
    readonly build: (run: RpmBuildEnv & { readonly name: string }) => Promise<unknown>;
  },
): TaskDefinition {
  return {
    name: `${ns(p)}:${step.step}:${params.name}`,
    doc: step.doc,
    fileDeps: step.fileDeps,
    targets: step.targets,
    cacheable: true,
    tools: step.tools,
    envKeys: step.envKeys,
    config: params,
    clean: true,
    actions: [
      fn(`rpmbuild-${step.step} ${JSON.stringify(params)}`, async (ctx) => {
        await step.build({ ...env, name: params.name, epoch: await s.epoch(), ...actionIo(ctx) });
      }),
    ],
  };
}

function specTasks(
  config: BuildConfig,
  sources: Sources,
  name: string,
  p: PackagingPaths,
  s: PackagingSettings,
  overrides: Readonly<Record<string, string>>,
): TaskDefinition[] {
  const specDir = path.dirname(specPath(config.root, name));
  const remote = loadSpecSources(specDir);
  const fetched = remote.map((r) => path.join(p.sources, name, r.name));
  const srpm = path.join(p.srpm, `${name}.src.rpm`);
  const env = buildEnv(config, s);
  const params = { name, builder: env.builder, epoch: s.epochKey, defines: s.defines };
  const tasks: TaskDefinition[] = [];
  if (remote.length > 0) {
    const pinned = remote.map((r) => ({ ...r, override: overrides[r.url] }));
    tasks.push({
      name: `${ns(p)}:source:${name}`,
      doc: `Fetch and check the remote sources of ${name}`,
      fileDeps: [path.join(specDir, 'sources.yaml')],
      targets: fetched,
      config: { kind: sources.kind },
      // The files are checked against the sha256 the sources expect (the pins, in the label).
      cacheable: true,
      clean: true,
      actions: [
        fn(
          `fetch-spec-sources ${JSON.stringify({ name, kind: sources.kind, pinned })}`,
          async (ctx) => {
            await fetchSpecSources({
              pkg: name,
              sources: remote,
              destDir: path.join(p.sources, name),
              resolveUrl: (u) => sources.repoUrl(u),
              checksumFor: (u, pinned) => {
                const o = overrides[u];
                return o === undefined ? expectedSha256(sources, u, pinned) : Promise.resolve(o);
              },
              log: actionIo(ctx).log,
            });
          },
        ),
      ],
    });
  }
  tasks.push(
    rpmbuildTask(p, s, env, params, {
      step: 'srpm',
      doc: `Build the SRPM of ${name}`,
      fileDeps: [specPath(config.root, name), ...localSourceFiles(specDir, name), ...fetched],
      targets: [srpm],
      tools: builderTools(s),
      envKeys: BUILD_ENV_KEYS,
      build: (run) =>
        buildSrpm({
          ...run,
          specFile: specPath(config.root, name),
          sourceFiles: [...localSourceFiles(specDir, name), ...fetched],
          topdir: path.join(p.build, name, 'srpm'),
          out: srpm,
        }),
    }),
  );
  const gpg = gpgSigning(config, s);
  const sign =
    gpg === undefined ? undefined : { ...gpg, rpmsignBin: config.tools.rpmsign?.bin ?? 'rpmsign' };
  tasks.push(
    rpmbuildTask(
      p,
      s,
      env,
      { ...params, sign: sign?.keyName },
      {
        step: 'rpm',
        doc: `Build the RPMs of ${name}`,
        fileDeps: [srpm],
        targets: [
          path.join(p.rpm, `${name}.json`),
          path.join(p.rpm, `${name}.deps.json`),
          path.join(p.rpm, name),
        ],
        tools: [...builderTools(s), 'rpm', ...(sign === undefined ? [] : ['rpmsign', 'gpg'])],
        envKeys: [...BUILD_ENV_KEYS, 'RPM_SIGN_KEY', 'GNUPGHOME'],
        build: (run) =>
          buildRpms({
            ...run,
            srpm,
            topdir: path.join(p.build, name, 'rpm'),
            outDir: path.join(p.rpm, name),
            manifest: path.join(p.rpm, `${name}.json`),
            depsFile: path.join(p.rpm, `${name}.deps.json`),
            rpmBin: config.tools.rpm?.bin ?? 'rpm',
            ...(sign === undefined ? {} : { sign }),
          }),
      },
    ),
  );
  return tasks;
}

function downloadTask(
  config: BuildConfig,
  sources: Sources,
  list: PackageList,
  p: PackagingPaths,
): TaskDefinition {
  const lockFile = lockPath(sources.lockDir, list.osFamily);
  const params = {
    osFamily: list.osFamily,
    request: requestDigest(list),
    kind: sources.kind,
    lockFile,
  };
  const opts = { list, paths: p, lockFile };
  // What the built RPMs require is resolved with the list (their deps files are file deps).
  const built = list.packages.filter((x) => x.built).map((x) => x.name);
  const local = () => readLocalRequirements(p.rpm, built);
  return {
    name: `${ns(p)}:download`,
    doc: `Resolve, lock, download and verify the ${list.osFamily} RPMs`,
    fileDeps: [
      packageListPath(config.root, list.osFamily),
      ...built.map((n) => path.join(p.rpm, `${n}.deps.json`)),
    ],
    targets: list.repos.map((r) => path.join(p.resolved, `${r.isoName}.json`)),
    // The downloaded RPMs and keys, the manifests and the lock; keyed by what pins them.
    cacheable: {
      outputs: [p.cache, p.keys, p.resolved, lockFile],
      keyInputs: async () =>
        downloadPins({
          ...opts,
          localRequirements: await local(),
          resolveUrl: (u) => sources.repoUrl(u),
          // The embedded mirror's files are read from its web root: no nginx for a key.
          readServed: async (u) => {
            const file = await sources.servedFile?.(u);
            return file === undefined ? undefined : readFile(file).catch(() => undefined);
          },
        }),
    },
    uptodate: [
      async () => {
        const localRequirements = await local().catch(() => undefined);
        if (localRequirements === undefined) return 'the local RPMs are not built yet';
        return downloadIsFresh({ ...opts, localRequirements });
      },
    ],
    tools: ['dnf', 'rpm'],
    config: params,
    clean: true,
    actions: [
      fn(`download-rpms ${JSON.stringify(params)}`, async (ctx) => {
        await downloadPackages({
          ...opts,
          localRequirements: await local(),
          resolveUrl: (u) => sources.repoUrl(u),
          ...actionIo(ctx),
          dnfBin: config.tools.dnf?.bin ?? 'dnf',
          rpmBin: config.tools.rpm?.bin ?? 'rpm',
          settingsHint: `SOURCES=${sources.kind}: ${sources.describe()}`,
        });
      }),
    ],
  };
}

async function readJson<T>(file: string): Promise<T> {
  return JSON.parse(await readFile(file, 'utf8')) as T;
}

function repoTask(
  config: BuildConfig,
  s: PackagingSettings,
  p: PackagingPaths,
  d: PackagingRepoDir,
  fileDeps: string[],
  files: () => Promise<{ rpms: RepoFile[]; keys: RepoFile[] }>,
  releasever: string,
  rpmSources: string,
): TaskDefinition {
  // With a signing key, every repo ships its public key (repo_gpgcheck=1 on a node checks
  // repomd.xml.asc with the repo's RPM-GPG-KEY-* files): RPM-GPG-KEY-<project>-<repo>-<releasever>.
  const exportKeyAs = `RPM-GPG-KEY-${d.isoName.replace(/-[^-]+$/, '')}-${releasever}`;
  const gpg = gpgSigning(config, s);
  const sign = gpg === undefined ? undefined : { ...gpg, exportKeyAs };
  const params = { isoName: d.isoName, epoch: s.epochKey, sign: sign?.keyName };
  return {
    name: d.task,
    doc: `Assemble the ${d.repo} yum repository on the ISO root`,
    fileDeps,
    targets: [d.dir],
    // The RPMs are hard links of the download's (or the RPM builds') outputs: the entry holds
    // the repodata and keys, and links the RPMs back from there.
    cacheable: { linkFrom: [rpmSources] },
    tools: ['createrepo', ...(sign === undefined ? [] : ['gpg'])],
    envKeys: ['RPM_SIGN_KEY', 'GNUPGHOME'],
    config: params,
    clean: true,
    actions: [
      fn(`assemble-repo ${JSON.stringify(params)}`, async (ctx) => {
        const { rpms, keys } = await files();
        await assembleRepo({
          dir: d.dir,
          staging: path.join(p.staging, d.isoName),
          rpms,
          keys,
          epoch: await s.epoch(),
          ...actionIo(ctx),
          createrepoBin: config.tools.createrepo?.bin ?? 'createrepo_c',
          ...(sign === undefined ? {} : { sign }),
        });
      }),
    ],
  };
}

/** `packaging:closure`: the ISO's repos, as a node enables them, are closed (dnf repoclosure). */
function closureTask(
  config: BuildConfig,
  s: PackagingSettings,
  list: PackageList,
  p: PackagingPaths,
  dirs: readonly PackagingRepoDir[],
): TaskDefinition {
  const params = {
    releasever: list.releasever,
    basearch: list.basearch ?? 'x86_64',
    signed: s.signKey !== undefined,
  };
  const report = path.join(p.root, 'closure.json');
  return {
    name: `${ns(p)}:closure`,
    doc: "Check that the ISO's yum repos are closed (dnf repoclosure, as a node enables them)",
    taskDeps: [...dirs.map((d) => d.task), `${ns(p)}:prune`],
    // Runs again when a repo task's fingerprint changes (dependency changed) or its report is gone.
    uptodate: [true],
    targets: [report],
    // A verdict over the repos' content: cached, keyed by that content.
    cacheable: { keyInputs: () => repoSetContent(p.isoRepos) },
    // What a node would enable: a repo added, removed or changed by hand is checked again.
    targetCheck: {
      observe: () => Promise.resolve(repoSetDigest(p.isoRepos)),
      changes: (recorded, now) =>
        recorded === now ? [] : [`the repos under ${p.isoRepos} changed`],
    },
    tools: ['dnf'],
    config: params,
    clean: true,
    actions: [
      fn(`repo-closure ${JSON.stringify(params)}`, async (ctx) => {
        const result = await checkRepoClosure({
          isoRepos: p.isoRepos,
          workDir: path.join(p.root, 'closure'),
          releasever: params.releasever,
          basearch: params.basearch,
          signed: params.signed,
          dnfBin: config.tools.dnf?.bin ?? 'dnf',
          listFile: path.relative(config.root, packageListPath(config.root, list.osFamily)),
          ...actionIo(ctx),
        });
        await writeFileAtomic(report, `${JSON.stringify(result, null, 2)}\n`, { mkdir: true });
      }),
    ],
  };
}

/** All packaging tasks of one OS family. */
export function createPackagingTasks(
  config: BuildConfig,
  sources: Sources,
  options: PackagingTasksOptions = {},
): TaskDefinition[] {
  const list =
    options.list ??
    loadPackageListSync(config.root, options.osFamily ?? DEFAULT_OS_FAMILY, {
      projectName: config.projectName,
    });
  const p = packagingPaths(config.buildRoot, config.isoRoot, list.osFamily);
  const s = packagingSettings(config, list);
  const built = list.packages.filter((x) => x.built).map((x) => x.name);
  const tasks: TaskDefinition[] = built.flatMap((n) =>
    specTasks(config, sources, n, p, s, options.sourceChecksums ?? {}),
  );
  tasks.push(downloadTask(config, sources, list, p));
  const dirs = packagingRepoDirs(config, list);
  for (const d of dirs) {
    if (d.repo === LOCAL_REPO) {
      const manifests = built.map((n) => path.join(p.rpm, `${n}.json`));
      tasks.push(
        repoTask(
          config,
          s,
          p,
          d,
          manifests,
          async () => {
            const rpms: RepoFile[] = [];
            for (const n of built) {
              const m = await readJson<{ rpms: BuiltRpm[] }>(path.join(p.rpm, `${n}.json`));
              for (const r of m.rpms) rpms.push({ src: path.join(p.rpm, n, r.path), dest: r.path });
            }
            return { rpms, keys: [] };
          },
          list.releasever,
          p.rpm,
        ),
      );
    } else {
      const manifest = path.join(p.resolved, `${d.isoName}.json`);
      tasks.push(
        repoTask(
          config,
          s,
          p,
          d,
          [manifest],
          async () => {
            const m = await readJson<RepoManifest>(manifest);
            return {
              rpms: m.rpms.map((r) => ({ src: path.join(p.root, r.file), dest: r.name })),
              keys: m.keys.map((k) => ({ src: path.join(p.root, k.file), dest: k.name })),
            };
          },
          list.releasever,
          p.cache,
        ),
      );
    }
  }
  const keep = dirs.map((d) => d.isoName);
  const prefix = config.projectName.toLowerCase();
  const distTag = list.distTag ?? 'el7';
  tasks.push({
    name: `${ns(p)}:prune`,
    doc: 'Remove repos of the ISO root that the package list no longer has',
    config: { keep, prefix, distTag },
    uptodate: [
      () => {
        const stale = staleRepoDirs(p.isoRepos, keep, prefix, distTag);
        return (
          stale.length === 0 || `stale repos: ${stale.map((d) => path.basename(d)).join(', ')}`
        );
      },
    ],
    actions: [
      fn(`prune-repos ${JSON.stringify({ keep, prefix, distTag })}`, async (ctx) => {
        for (const d of await pruneRepoDirs(config.buildRoot, p.isoRepos, keep, prefix, distTag))
          ctx.log(`removed stale repo ${d}`);
      }),
    ],
  });
  tasks.push(closureTask(config, s, list, p, dirs));
  tasks.push({
    name: ns(p),
    doc: 'Build and download every RPM and assemble the yum repositories on the ISO root',
    taskDeps: [...dirs.map((d) => d.task), `${ns(p)}:prune`, `${ns(p)}:closure`],
  });
  return tasks;
}
