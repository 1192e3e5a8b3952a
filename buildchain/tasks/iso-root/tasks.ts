/**
 * Top-level ISO files: the scripts (`bootstrap.sh`/`restore.sh` rendered with the version, the
 * utilities copied), the `iso-root/` tree (`*.in` rendered), and `product.txt`.
 * Task names: `iso-root:scripts`, `iso-root:files`, `iso-root:product`.
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import type { BuildConfig } from '../../config/config.ts';
import { fn, type TaskDefinition } from '../../engine/task.ts';
import { buildEpoch, gitReference, gitStateFiles } from '../../config/build-info.ts';
import { renderProductTxt } from '../../media/product-txt.ts';
import { loadVersion, VERSION_FILE } from '../../config/version.ts';
import type { Sources } from '../../sources/sources.ts';
import { copyFileAtomic, modeOf, writeFileAtomic } from '../../lib/fs/atomic-write.ts';
import { walkTreeSync } from '../../lib/fs/walk.ts';
import { renderTemplate, templateValues } from '../../lib/text/at-template.ts';

/** Scripts rendered with @@VERSION (`scripts/<name>.in` → `<isoRoot>/<name>`). */
export const RENDERED_SCRIPTS = ['bootstrap.sh', 'restore.sh'] as const;
/** Scripts copied as they are. */
export const COPIED_SCRIPTS = [
  'backup.sh',
  'downgrade.sh',
  'iso-manager.sh',
  'solution-manager.sh',
  'upgrade.sh',
] as const;
export const ISO_ROOT_DIR = 'iso-root';

/** One source → destination (relative to the ISO root) pair; `template` when rendered. */
interface Placement {
  readonly source: string;
  readonly dest: string;
  readonly template: boolean;
}

/** Regular files under `<root>/<dir>` as `<dir>/<rel>`, sorted; none when `dir` is missing. */
function listTree(root: string, dir: string): string[] {
  return walkTreeSync(path.join(root, dir), { missingOk: true })
    .filter((e) => e.kind === 'file')
    .map((e) => `${dir}/${e.rel}`)
    .sort();
}

function placeTask(
  config: BuildConfig,
  name: string,
  title: string,
  doc: string,
  items: readonly Placement[],
): TaskDefinition {
  const src = (p: Placement): string => path.join(config.root, p.source);
  const dest = (p: Placement): string => path.join(config.isoRoot, p.dest);
  return {
    name,
    title,
    doc,
    fileDeps: [path.join(config.root, VERSION_FILE), ...items.map(src)],
    targets: items.map(dest),
    clean: true,
    actions: [
      fn(`place-files ${JSON.stringify(items)}`, async () => {
        const version = await loadVersion(config.root);
        for (const p of items) {
          if (!p.template) {
            await copyFileAtomic(src(p), dest(p), { mkdir: true });
            continue;
          }
          const text = renderTemplate(
            await readFile(src(p), 'utf8'),
            templateValues(version.full),
            p.source,
          );
          await writeFileAtomic(dest(p), text, { mode: await modeOf(src(p)), mkdir: true });
        }
      }),
    ],
  };
}

/** The top-level ISO files. */
/**
 * The `SOURCES=` token of product.txt: a plain word (the file is sourced by sh and grepped),
 * saying loudly when the content is the embedded mirror's stand-ins, never a release.
 */
export function productSourcesToken(kind: Sources['kind']): string {
  return kind === 'embedded' ? 'embedded-stand-in-not-a-release' : kind;
}

export function createIsoRootTasks(config: BuildConfig, sources: Sources): TaskDefinition[] {
  const scripts: Placement[] = [
    ...RENDERED_SCRIPTS.map((s) => ({ source: `scripts/${s}.in`, dest: s, template: true })),
    ...COPIED_SCRIPTS.map((s) => ({ source: `scripts/${s}`, dest: s, template: false })),
  ];
  const files: Placement[] = listTree(config.root, ISO_ROOT_DIR).map((f) => {
    const rel = f.slice(ISO_ROOT_DIR.length + 1);
    const template = rel.endsWith('.in');
    return { source: f, dest: template ? rel.slice(0, -3) : rel, template };
  });
  const productFile = path.join(config.isoRoot, 'product.txt');
  // The fingerprint covers every input: the fields below, SOURCE_DATE_EPOCH, VERSION and the
  // git files telling where HEAD is (GIT= and the default timestamp come from the commit), so
  // product.txt (and the ISO) changes only when one of them does. git runs in the action only.
  const product = {
    name: config.projectName,
    buildHost: hostname(),
    sources: productSourcesToken(sources.kind),
  };
  return [
    placeTask(
      config,
      'iso-root:scripts',
      'RENDER       scripts',
      'Install bootstrap/restore (rendered) and the utility scripts',
      scripts,
    ),
    placeTask(
      config,
      'iso-root:files',
      'COPY         iso-root',
      'Install the iso-root/ tree (examples, ...)',
      files,
    ),
    {
      name: 'iso-root:product',
      title: 'GENERATE     product.txt',
      doc: 'Write product.txt (NAME, VERSION, GIT, BUILD_TIMESTAMP, ...)',
      fileDeps: [path.join(config.root, VERSION_FILE), ...gitStateFiles(config.root)],
      targets: [productFile],
      config: product,
      envKeys: ['PROJECT_NAME', 'SOURCE_DATE_EPOCH'],
      clean: true,
      actions: [
        fn(`product-txt ${JSON.stringify(product)}`, async () => {
          const [version, git, epoch] = await Promise.all([
            loadVersion(config.root),
            gitReference(config),
            buildEpoch(config),
          ]);
          await writeFileAtomic(productFile, renderProductTxt({ ...product, version, git, epoch }), { mkdir: true });
        }),
      ],
    },
  ];
}
