/**
 * The ISO: `populate_iso` (everything under the ISO root, strays removed), `_iso_build` (the
 * ISO written in one streaming pass with the implanted md5 and SHA256SUM), `_iso_digest`
 * (optional GPG signature of SHA256SUM), `iso` (the default group) and `verify`.
 */
import { readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { BuildConfig } from '../../config/config.ts';
import { mkisofsArgv } from '../../config/tools.ts';
import { fn, TaskError, type ActionContext, type TaskDefinition } from '../../engine/task.ts';
import { produceFileAtomic } from '../../lib/fs/atomic-write.ts';
import { ReusableWalk, type WalkEntry } from '../../lib/fs/walk.ts';
import { removeAllInside } from '../../lib/fs/fence.ts';
import { formatProblem } from '../../lib/problem.ts';
import { expectedTree, findStrays } from '../iso-root/index.ts';
import type { Sources } from '../../sources/sources.ts';
import { buildEpoch } from '../../config/build-info.ts';
import { parseProductTxt } from '../../media/product-txt.ts';
import { hasVersionFile, readVersionFile, VERSION_FILE } from '../../config/version.ts';
import { checkVolumeId } from '../../media/iso/mkisofs-args.ts';
import { gpgDetachSignArgs } from '../../lib/gpg-args.ts';

/** `<BUILD_ROOT>/<project lower>.iso` */
export function isoPath(config: BuildConfig): string {
  return path.join(config.buildRoot, `${config.projectName.toLowerCase()}.iso`);
}

/** The entries under the ISO root (relative, POSIX, sorted): its files and its directories. */
interface IsoRootList {
  readonly files: readonly string[];
  readonly dirs: readonly string[];
}

/**
 * The ISO root's entries, for `populate_iso`'s strays check and the ISO's file deps, both
 * computed on every no-op. Synchronous (a few hundred entries), and walked once when nothing
 * changed it between the two (see {@link ReusableWalk}: a file added in between still counts).
 */
function isoRootLister(isoRoot: string): () => IsoRootList {
  const tree = new ReusableWalk(isoRoot, { missingOk: true });
  let walked: readonly WalkEntry[] | undefined;
  let list: IsoRootList = { files: [], dirs: [] };
  return () => {
    const entries = tree.walk();
    if (entries === walked) return list;
    walked = entries;
    list = {
      files: entries
        .filter((e) => e.kind !== 'dir')
        .map((e) => e.rel)
        .sort(),
      dirs: entries
        .filter((e) => e.kind === 'dir')
        .map((e) => e.rel)
        .sort(),
    };
    return list;
  };
}

/** The product version; '0.0.0' without a VERSION file, an error when it is unreadable or malformed. */
function readVersionSync(config: BuildConfig): string {
  return hasVersionFile(config.root) ? readVersionFile(config.root).full : '0.0.0';
}

function populateTask(
  config: BuildConfig,
  allTasks: readonly TaskDefinition[],
  deps: string[],
  isoRootList: () => IsoRootList,
): TaskDefinition {
  const expected = expectedTree(allTasks, config.isoRoot, config.root);
  const policy = config.settings.isoRootStrays;
  const strays = (): string[] => {
    const { files, dirs } = isoRootList();
    return findStrays([...files, ...dirs], expected);
  };
  return {
    name: 'populate_iso',
    doc: 'Populate the ISO root; remove (or fail on) files no task produced',
    taskDeps: deps,
    envKeys: ['ISO_ROOT_STRAYS'],
    uptodate: [
      () => (strays().length === 0 ? true : 'files under the ISO root that no task produced'),
    ],
    actions: [
      fn(`check-iso-root ${policy}`, async (ctx: ActionContext) => {
        const found = strays();
        if (found.length > 0 && policy === 'fail') {
          throw new TaskError(
            'invalid-input',
            `not produced by any task, under ${config.isoRoot}: ${found.join(', ')}`,
            {
              hint: 'Remove them (npm run build -- clean iso), or produce them from a task; ISO_ROOT_STRAYS=remove deletes them.',
            },
          );
        }
        // Only inside the build directory: an ISO root that is (or holds) a symlink leading
        // out of it fails the task before anything is removed.
        await removeAllInside(
          config.buildRoot,
          found.map((s) => path.join(config.isoRoot, s)),
        );
        // Always shown (console, live view and JSON reporter), as docs/iso.md promises.
        for (const s of found)
          ctx.log(`warning: removing ${s} from the ISO root: no task produces it`);
      }),
    ],
  };
}

/**
 * Dates of the ISO: product.txt's BUILD_TIMESTAMP (a file dep, so the ISO changes with it),
 * else the build epoch.
 */
async function isoEpoch(config: BuildConfig, productFile: string): Promise<number> {
  const text = await readFile(productFile, 'utf8').catch(() => '');
  const stamp = parseProductTxt(text).get('BUILD_TIMESTAMP');
  const ms = stamp === undefined ? NaN : Date.parse(stamp);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : buildEpoch(config);
}

function buildTask(
  config: BuildConfig,
  iso: string,
  sumFile: string,
  isoRootList: () => IsoRootList,
): TaskDefinition {
  const params = {
    volumeId: `${config.projectName} ${readVersionSync(config)}`,
    mkisofs: mkisofsArgv(config),
  };
  // Checked when the graph is defined, not after every other task ran (exit 2 at once).
  checkVolumeId(params.volumeId);
  const productFile = path.join(config.isoRoot, 'product.txt');
  return {
    name: '_iso_build',
    title: `MKISOFS      ${path.relative(config.root, iso)}`,
    doc: 'Write the ISO (implanted md5) and SHA256SUM in one pass',
    taskDeps: ['populate_iso'],
    fileDeps: [path.join(config.root, VERSION_FILE)],
    dynamicDeps: {
      after: ['populate_iso'],
      compute: () =>
        Promise.resolve({
          fileDeps: isoRootList().files.map((f) => path.join(config.isoRoot, f)),
        }),
    },
    targets: [iso, sumFile],
    tools: ['mkisofs'],
    envKeys: ['MKISOFS_BIN', 'XORRISO_BIN'],
    config: params,
    clean: true,
    actions: [
      fn(`write-iso ${JSON.stringify(params)}`, async (ctx) => {
        // The ISO writer and the verifier load when they run (start-up time of every command).
        const { writeIso } = await import('../../media/iso/write-iso.ts');
        await writeIso({
          root: config.isoRoot,
          output: iso,
          volumeId: params.volumeId,
          epoch: await isoEpoch(config, productFile),
          mkisofs: params.mkisofs,
          checksumFile: sumFile,
          signal: ctx.signal,
          onLog: (l) => {
            ctx.log(l);
          },
        });
      }),
    ],
  };
}

function digestTask(config: BuildConfig, sumFile: string): TaskDefinition {
  const key = config.settings.isoSignKey ?? '';
  const sig = `${sumFile}.asc`;
  const gpg = config.tools.gpg?.bin ?? 'gpg';
  return {
    name: '_iso_digest',
    title: `SIGN         ${path.relative(config.root, sig)}`,
    doc: 'Sign SHA256SUM with ISO_SIGN_KEY (detached, armored); nothing without a key',
    taskDeps: ['_iso_build'],
    fileDeps: [sumFile],
    targets: key === '' ? [] : [sig],
    envKeys: ['ISO_SIGN_KEY', 'GNUPGHOME'],
    tools: key === '' ? [] : ['gpg'],
    clean: true,
    actions: [
      fn(`sign-sha256sum ${key}`, async (ctx) => {
        if (key === '') {
          await rm(sig, { force: true });
          return;
        }
        await produceFileAtomic(sig, async (tmp) => {
          await ctx.exec(gpgDetachSignArgs({ bin: gpg, keyName: key, file: sumFile, output: tmp }));
        });
      }),
    ],
  };
}

/** True when `file` exists (a FIFO or a directory too: verifyIso then says what it is). */
async function exists(file: string): Promise<boolean> {
  return (await stat(file).catch(() => undefined)) !== undefined;
}

function verifyTask(config: BuildConfig, iso: string): TaskDefinition {
  const target =
    config.settings.isoVerifyPath === undefined
      ? iso
      : path.resolve(config.root, config.settings.isoVerifyPath);
  const t = (n: string): string | undefined => config.tools[n]?.bin;
  return {
    name: 'verify',
    doc: 'Check an ISO file (ISO_VERIFY_PATH, default the built one): md5, SHA256SUM, product.txt, layout, images, repos',
    uptodate: [false],
    envKeys: ['ISO_VERIFY_PATH'],
    tools: ['checkisomd5', 'isoinfo', 'bsdtar'],
    actions: [
      fn(`verify-iso ${target}`, async (ctx) => {
        if (!(await exists(target))) {
          throw new TaskError('invalid-input', `no ISO to verify at ${target}`, {
            hint: 'Build it first (npm run build iso), or set ISO_VERIFY_PATH to the ISO file to check.',
          });
        }
        const { verifyIso } = await import('./verify.ts');
        const report = await verifyIso({
          iso: target,
          expectName: config.projectName,
          tools: {
            bsdtar: t('bsdtar'),
            isoinfo: t('isoinfo'),
            checkisomd5: t('checkisomd5'),
            gpg: t('gpg'),
          },
        });
        for (const c of report.checked) ctx.log(`ok: ${c}`);
        if (report.problems.length > 0) {
          throw new TaskError(
            'digest-mismatch',
            `${target} failed verification:\n  ${report.problems.map((p) => formatProblem(p)).join('\n  ')}`,
            {
              found: report.problems,
              hint: 'Rebuild the ISO (npm run build iso) or fetch it again.',
            },
          );
        }
      }),
    ],
  };
}

/** ISO tasks; `otherTasks` are every other task of the graph (for the ISO root's expected set). */
export function createIsoTasks(
  config: BuildConfig,
  _sources: Sources,
  otherTasks: readonly TaskDefinition[],
): TaskDefinition[] {
  const iso = isoPath(config);
  const sumFile = path.join(config.buildRoot, 'SHA256SUM');
  const names = new Set(otherTasks.map((t) => t.name));
  const producers = ['salt_tree', 'images', 'packaging'].filter((n) => names.has(n));
  const rootTasks = otherTasks.filter((t) => t.name.startsWith('iso-root:')).map((t) => t.name);
  const isoRootList = isoRootLister(config.isoRoot);
  const build = buildTask(config, iso, sumFile, isoRootList);
  const digest = digestTask(config, sumFile);
  const populate = populateTask(
    config,
    [...otherTasks, build, digest],
    [...producers, ...rootTasks],
    isoRootList,
  );
  return [
    populate,
    build,
    digest,
    {
      name: 'iso',
      doc: 'Build the MetalK8s ISO (default task)',
      taskDeps: [populate.name, build.name, digest.name],
    },
    verifyTask(config, iso),
  ];
}
