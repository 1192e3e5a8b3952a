/**
 * Salt tree on the ISO: the files listed in `salt/MANIFEST` copied or rendered (`*.in`, with
 * @@VERSION), and `salt/metalk8s/versions.json` from the content lists.
 * Task names: `salt_tree` (group), `salt:copy`, `salt:render`, `salt:versions`.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { BuildConfig } from '../../config/config.ts';
import { IMAGE_LIST_FILE, loadImageList } from '../../config/images.ts';
import { loadPackageList, loadPackageListSync, packageListPath } from '../../config/packages.ts';
import { builtPackageVersions, unpinnedSpecFiles } from '../packages/index.ts';
import { fn, TaskError, type TaskDefinition } from '../../engine/task.ts';
import { readRegularText } from '../../lib/fs/read-bounded.ts';
import { copyFileAtomic, modeOf, writeFileAtomic } from '../../lib/fs/atomic-write.ts';
import { renderTemplate, templateValues } from '../../lib/text/at-template.ts';
import { loadVersion, VERSION_FILE } from '../../config/version.ts';
import type { Sources } from '../../sources/sources.ts';
import {
  checkSaltSource,
  listSaltDir,
  SALT_DIR,
  parseSaltManifest,
  SALT_MANIFEST,
  unshippedSaltFiles,
  type SaltFile,
} from './manifest.ts';
import { renderVersionsJson } from './versions-json.ts';

/** OS family whose package list feeds versions.json. */
export const VERSIONS_OS_FAMILY = 'redhat-7';

/** Largest salt/MANIFEST accepted (bytes): it lists a few hundred paths. */
const MAX_MANIFEST_BYTES = 1024 * 1024;

function readManifest(root: string): SaltFile[] {
  let text: string;
  try {
    text = readRegularText(path.join(root, SALT_MANIFEST), { what: SALT_MANIFEST, maxBytes: MAX_MANIFEST_BYTES });
  } catch (err) {
    if (err instanceof TaskError && err.reason === 'missing-file-dep') {
      throw new TaskError('invalid-input', `${SALT_MANIFEST} not found`, {
        hint: 'List the Salt files to ship in salt/MANIFEST, one per line (see docs/iso.md).',
      });
    }
    throw err;
  }
  let files: SaltFile[];
  try {
    files = parseSaltManifest(text);
  } catch (err) {
    throw new TaskError('invalid-input', (err as Error).message, { hint: 'Fix salt/MANIFEST.' });
  }
  for (const f of files) checkSaltSource(root, f);
  return files;
}

/**
 * The source of `f`, checked again when the action runs (the tree may have changed since the
 * graph was defined): inside salt/, a regular file. Throws `invalid-input` naming the entry.
 */
function checkedSource(root: string, f: SaltFile): string {
  const real = checkSaltSource(root, f);
  if (real === undefined) {
    throw new TaskError('missing-file-dep', `${SALT_MANIFEST} entry '${f.source.slice(SALT_DIR.length + 1)}': ${f.source} does not exist`, {
      hint: 'create the file, or remove the entry from salt/MANIFEST',
    });
  }
  return real;
}

/** Specs giving versions.json the versions of unpinned built packages (none if the list is bad). */
function builtSpecFiles(root: string): string[] {
  try {
    return unpinnedSpecFiles(root, loadPackageListSync(root, VERSIONS_OS_FAMILY));
  } catch {
    // The action reads the list again and reports what is wrong with it.
    return [];
  }
}

/** Salt tree tasks; `sources` is unused (the tree carries no upstream content). */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- factory contract: (config, sources)
export function createSaltTasks(config: BuildConfig, _sources: Sources): TaskDefinition[] {
  const files = readManifest(config.root);
  const unshipped = unshippedSaltFiles(listSaltDir(config.root), files);
  const dest = (f: SaltFile): string => path.join(config.isoRoot, f.dest);
  const src = (f: SaltFile): string => path.join(config.root, f.source);
  const copies = files.filter((f) => !f.template);
  const templates = files.filter((f) => f.template);
  const versionsJson = path.join(config.isoRoot, 'salt/metalk8s/versions.json');
  const copy: TaskDefinition = {
    name: 'salt:copy',
    title: 'CPTREE       salt',
    doc: 'Copy the Salt files listed in salt/MANIFEST to the ISO root',
    fileDeps: [path.join(config.root, SALT_MANIFEST), ...copies.map(src)],
    targets: copies.map(dest),
    // Adding an unlisted file re-runs the task, so its warning is shown.
    config: { unshipped },
    clean: true,
    actions: [
      fn(
        `copy-salt-tree ${JSON.stringify(copies.map((f) => [f.source, f.dest]))}`,
        async (ctx) => {
          for (const f of unshipped)
            ctx.log(`warning: ${f} is not listed in ${SALT_MANIFEST}: not shipped`);
          for (const f of copies) await copyFileAtomic(checkedSource(config.root, f), dest(f), { mkdir: true });
        },
      ),
    ],
  };
  const render: TaskDefinition = {
    name: 'salt:render',
    title: 'RENDER       salt templates',
    doc: 'Render the Salt templates (*.in) with the version',
    fileDeps: [path.join(config.root, VERSION_FILE), ...templates.map(src)],
    targets: templates.map(dest),
    clean: true,
    actions: [
      fn(
        `render-salt-templates ${JSON.stringify(templates.map((f) => [f.source, f.dest]))}`,
        async () => {
          const version = await loadVersion(config.root);
          for (const f of templates) {
            const text = renderTemplate(
              await readFile(checkedSource(config.root, f), 'utf8'),
              templateValues(version.full),
              f.source,
            );
            await writeFileAtomic(dest(f), text, { mode: await modeOf(src(f)), mkdir: true });
          }
        },
      ),
    ],
  };
  const versions: TaskDefinition = {
    name: 'salt:versions',
    title: 'RENDER JSON  salt/metalk8s/versions.json',
    doc: 'Write salt/metalk8s/versions.json from VERSION and the content lists',
    fileDeps: [
      path.join(config.root, VERSION_FILE),
      path.join(config.root, IMAGE_LIST_FILE),
      packageListPath(config.root, VERSIONS_OS_FAMILY),
      ...builtSpecFiles(config.root),
    ],
    targets: [versionsJson],
    clean: true,
    actions: [
      fn(`versions-json ${VERSIONS_OS_FAMILY}`, async () => {
        const [version, images, packages] = await Promise.all([
          loadVersion(config.root),
          loadImageList(config.root),
          loadPackageList(config.root, VERSIONS_OS_FAMILY),
        ]);
        const builtVersions = await builtPackageVersions(config, packages);
        await writeFileAtomic(
          versionsJson,
          renderVersionsJson({ version: version.full, images, packages, builtVersions }),
          { mkdir: true },
        );
      }),
    ],
  };
  return [
    copy,
    render,
    versions,
    {
      name: 'salt_tree',
      doc: 'Deploy the Salt tree inside the ISO root',
      taskDeps: [copy.name, render.name, versions.name],
    },
  ];
}
