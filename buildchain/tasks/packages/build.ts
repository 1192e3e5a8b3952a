/**
 * Building one spec: SRPM from the spec and its sources, then binary RPMs from the SRPM, each
 * in its own private topdir; outputs are staged and renamed into place.
 */
import { copyFile, mkdir, rename, rm, utimes } from 'node:fs/promises';
import path from 'node:path';
import { TaskError } from '../../engine/task.ts';
import { copyFileAtomic } from '../../lib/fs/atomic-write.ts';
import { replaceDir } from '../../lib/fs/staging.ts';
import { walkTree } from '../../lib/fs/walk.ts';
import type { Exec } from '../../engine/exec/run-command.ts';
import type { Log } from './output.ts';
import { fileDigest, writeIfChanged } from './fetch.ts';
import {
  builderCommand,
  rpmbuildArgs,
  rpmspecParseArgs,
  specSourceFiles,
  type BuilderOptions,
} from './rpmbuild-args.ts';
import { readRpmDeps, serializePackageDeps, type RpmDeps } from './rpm-deps.ts';
import { resolveOnPath, rpmsignArgs, withGpgAgentCleanup } from './signing.ts';

/** How to run rpmbuild (shared by the SRPM and RPM steps). */
export interface RpmBuildEnv {
  readonly exec: Exec;
  readonly log?: Log;
  /** Builder (local/docker/podman), image and engine binary; topdir and epoch are set per step. */
  readonly builder: Omit<BuilderOptions, 'topdir' | 'epoch'>;
  readonly rpmbuildBin?: string;
  readonly rpmspecBin?: string;
  /** SOURCE_DATE_EPOCH (seconds): build time, file mtimes. */
  readonly epoch: number;
  /** Extra macros, e.g. `{ dist: '.el7' }`. */
  readonly defines?: Readonly<Record<string, string>>;
}

async function run(env: RpmBuildEnv, topdir: string, make: (t: string) => string[]) {
  const c = builderCommand({ ...env.builder, topdir, epoch: env.epoch }, make);
  return env.exec(c.argv, { env: c.env, cwd: topdir });
}

/** rpmbuild in the builder: `-bs` of a spec (`srpm`) or `--rebuild` of an SRPM (`rpm`). */
async function rpmbuild(env: RpmBuildEnv, topdir: string, mode: 'srpm' | 'rpm', input: string) {
  return run(env, topdir, (t) =>
    rpmbuildArgs({
      bin: env.rpmbuildBin ?? 'rpmbuild',
      topdir,
      topdirInArgv: t,
      mode,
      input,
      defines: env.defines,
      nodeps: env.builder.builder === 'local',
    }),
  );
}

async function freshDirs(topdir: string, subs: readonly string[]): Promise<void> {
  await rm(topdir, { recursive: true, force: true });
  for (const s of subs) await mkdir(path.join(topdir, s), { recursive: true });
}

async function listFiles(dir: string, suffix: string): Promise<string[]> {
  return (await walkTree(dir, { missingOk: true }))
    .filter((e) => e.kind === 'file' && e.rel.endsWith(suffix))
    .map((e) => e.path)
    .sort();
}

/** Options for {@link buildSrpm}. */
export interface BuildSrpmOptions extends RpmBuildEnv {
  readonly name: string;
  readonly specFile: string;
  /** Local and fetched source files (absolute); copied into SOURCES under their basename. */
  readonly sourceFiles: readonly string[];
  readonly topdir: string;
  /** Where the SRPM is written (fixed name, e.g. `<pkg>.src.rpm`). */
  readonly out: string;
}

/**
 * Builds the SRPM: checks that every SourceN/PatchN of the expanded spec is provided, then
 * `rpmbuild -bs`. Source mtimes are set to the epoch so that the SRPM is reproducible.
 */
export async function buildSrpm(o: BuildSrpmOptions): Promise<void> {
  const { topdir } = o;
  await freshDirs(topdir, ['SPECS', 'SOURCES', 'SRPMS', 'BUILD', 'RPMS']);
  const spec = `SPECS/${o.name}.spec`;
  await copyFile(o.specFile, path.join(topdir, spec));
  const provided = new Set<string>();
  for (const f of o.sourceFiles) {
    const dest = path.join(topdir, 'SOURCES', path.basename(f));
    await copyFile(f, dest);
    await utimes(dest, o.epoch, o.epoch);
    provided.add(path.basename(f));
  }
  await utimes(path.join(topdir, spec), o.epoch, o.epoch);
  const bin = o.rpmspecBin ?? 'rpmspec';
  const expanded = await run(o, topdir, (t) =>
    rpmspecParseArgs({ bin, topdir, topdirInArgv: t, spec, defines: o.defines }),
  );
  const missing = specSourceFiles(expanded.stdout).filter((s) => !provided.has(s));
  if (missing.length > 0) {
    throw new TaskError(
      'invalid-input',
      `spec of '${o.name}' needs sources that are not provided: ${missing.join(', ')}`,
      {
        hint: `Add them to packages-specs/${o.name}/ (local files) or to packages-specs/${o.name}/sources.yaml (URL + sha256).`,
      },
    );
  }
  o.log?.(`rpmbuild -bs ${o.name}`);
  await rpmbuild(o, topdir, 'srpm', spec);
  const srpms = await listFiles(path.join(topdir, 'SRPMS'), '.src.rpm');
  if (srpms.length !== 1 || srpms[0] === undefined) {
    throw new TaskError(
      'target-not-produced',
      `rpmbuild -bs ${o.name} produced ${srpms.length} SRPMs`,
    );
  }
  await copyFileAtomic(srpms[0], o.out, { mkdir: true });
}

/** One built RPM, as recorded in the package's manifest. */
export interface BuiltRpm {
  /** Path relative to the package's output dir: `<arch>/<file>.rpm`. */
  readonly path: string;
  readonly arch: string;
  readonly sha256: string;
}

/** Optional signing of built RPMs. */
export interface SignOptions {
  readonly keyName: string;
  readonly rpmsignBin?: string;
  readonly gpgBin?: string;
  /** GNUPGHOME for gpg (default: the environment's). */
  readonly gnupgHome?: string;
}

/** Options for {@link buildRpms}. */
export interface BuildRpmsOptions extends RpmBuildEnv {
  readonly name: string;
  readonly srpm: string;
  readonly topdir: string;
  /** Output dir `<...>/rpm/<pkg>`: replaced as a whole (stale RPMs never stay). */
  readonly outDir: string;
  /** Manifest (JSON list of {@link BuiltRpm}) written last, only when its content changes. */
  readonly manifest: string;
  readonly sign?: SignOptions;
  /** rpm, to read each RPM's dependencies (default `rpm`). */
  readonly rpmBin?: string;
  /**
   * What the package's RPMs require and provide (names only), written only when it changes: the
   * download depends on it, not on the RPMs (a new release alone does not resolve again).
   */
  readonly depsFile: string;
}

/** `rpmbuild --rebuild` of the SRPM, optional rpmsign, then the output dir and its manifest. */
export async function buildRpms(o: BuildRpmsOptions): Promise<BuiltRpm[]> {
  const { topdir } = o;
  await freshDirs(topdir, ['SRPMS', 'SOURCES', 'SPECS', 'BUILD', 'RPMS']);
  const srpm = `SRPMS/${path.basename(o.srpm)}`;
  await copyFile(o.srpm, path.join(topdir, srpm));
  o.log?.(`rpmbuild --rebuild ${o.name}`);
  await rpmbuild(o, topdir, 'rpm', srpm);
  const rpmsDir = path.join(topdir, 'RPMS');
  const files = await listFiles(rpmsDir, '.rpm');
  if (files.length === 0)
    throw new TaskError('target-not-produced', `rpmbuild --rebuild ${o.name} produced no RPM`);
  if (o.sign !== undefined) {
    const gpgPath = resolveOnPath(o.sign.gpgBin ?? 'gpg');
    const { sign } = o;
    // rpmsign runs gpg, which starts a gpg-agent: stop it afterwards.
    await withGpgAgentCleanup(o.exec, sign, () =>
      o.exec(
        rpmsignArgs({ bin: sign.rpmsignBin ?? 'rpmsign', gpgPath, keyName: sign.keyName, files }),
        {
          env: sign.gnupgHome === undefined ? {} : { GNUPGHOME: sign.gnupgHome },
          input: '',
        },
      ),
    );
  }
  const staging = `${o.outDir}.staging`;
  await rm(staging, { recursive: true, force: true });
  const built: BuiltRpm[] = [];
  const deps: RpmDeps[] = [];
  for (const f of files) {
    const rel = path.relative(rpmsDir, f);
    const arch = path.dirname(rel);
    await mkdir(path.join(staging, arch), { recursive: true });
    await rename(f, path.join(staging, rel));
    const file = path.join(staging, rel);
    deps.push(await readRpmDeps(o.exec, o.rpmBin ?? 'rpm', file));
    built.push({ path: rel, arch, sha256: await fileDigest(file) });
  }
  await replaceDir(staging, o.outDir);
  await writeIfChanged(o.depsFile, serializePackageDeps(o.name, deps));
  await writeIfChanged(
    o.manifest,
    `${JSON.stringify({ package: o.name, rpms: built }, null, 2)}\n`,
  );
  return built;
}
