/**
 * The `lint` group: `lint:shell`, `lint:yaml`, `lint:content`, `lint:ts`.
 *
 * Each subtask is split in two so that `npm run build lint` runs every check even when the
 * engine stops at the first failure: a private check task (`lint:<sub>:_check`) never fails on
 * findings, it stores them as JSON under BUILD_ROOT/lint/ and is up to date while its inputs
 * (linted files, configs, tool versions) are unchanged; the public task (`lint:<sub>`, or
 * `lint` for all four) prints the stored findings as `file:line:col: message` and fails when
 * any is an error.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { BuildConfig } from '../../config/config.ts';
import { IMAGE_LIST_FILE } from '../../config/images.ts';
import { contextExec } from '../../engine/exec/run-command.ts';
import { fn, type ActionContext, type TaskDefinition } from '../../engine/task.ts';
import { hasVersionFile, readVersionFile } from '../../config/version.ts';
import type { Sources } from '../../sources/sources.ts';
import { templateValues } from '../../lib/text/at-template.ts';
import {
  collectShellFiles,
  collectSpecFiles,
  collectTree,
  collectTsFiles,
  collectYamlFiles,
  listProjectFiles,
} from './collect.ts';
import type { LintResult } from './findings.ts';
import { readResult, reportResults, resultPath, writeResult } from './result-file.ts';
import { DEPCRUISE_CONFIG, lintTypeScript } from './run-ts.ts';
import { YAMLLINT_CONFIG_FILE } from './yaml-files.ts';

/** The four subtasks, in report order. */
export const LINT_SUBTASKS = ['shell', 'yaml', 'content', 'ts'] as const;

/** Version of the check code: bump when a check's behaviour changes. */
const CHECK_VERSION = 2;

/** The product version from `VERSION` (e.g. `2.4.0-beta1`), else package.json's. */
export function readProjectVersion(root: string): string {
  if (hasVersionFile(root)) return readVersionFile(root).full;
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    version?: string;
  };
  return pkg.version ?? '0.0.0';
}

interface CheckSpec {
  readonly sub: (typeof LINT_SUBTASKS)[number];
  readonly doc: string;
  /**
   * The files checked and read, listed when the task is first evaluated (dynamic
   * dependencies: their set is in the fingerprint, a file added or removed runs the check).
   */
  readonly fileDeps: () => readonly string[];
  readonly tools: readonly string[];
  readonly envKeys?: readonly string[];
  /** What else the check depends on (its action's label: in the fingerprint). */
  readonly params: unknown;
  readonly run: (ctx: ActionContext) => Promise<LintResult>;
}

function checkTask(config: BuildConfig, spec: CheckSpec): TaskDefinition {
  const out = resultPath(config.buildRoot, spec.sub);
  return {
    name: `lint:${spec.sub}:_check`,
    doc: `${spec.doc} (stores findings; never fails on them)`,
    title: `lint ${spec.sub}`,
    dynamicDeps: { after: [], compute: () => Promise.resolve({ fileDeps: spec.fileDeps() }) },
    targets: [out],
    tools: spec.tools,
    ...(spec.envKeys ? { envKeys: spec.envKeys } : {}),
    actions: [
      fn(`lint-${spec.sub}-check@${CHECK_VERSION} ${JSON.stringify(spec.params)}`, async (ctx) => {
        await writeResult(out, await spec.run(ctx));
      }),
    ],
    clean: true,
  };
}

function reportTask(
  config: BuildConfig,
  name: string,
  doc: string,
  subs: readonly string[],
): TaskDefinition {
  const files = subs.map((s) => resultPath(config.buildRoot, s));
  return {
    name,
    doc,
    taskDeps: subs.map((s) => `lint:${s}:_check`),
    fileDeps: files,
    actions: [
      fn(`lint-report@${CHECK_VERSION} ${subs.join(',')}`, async (ctx) => {
        const results = await Promise.all(files.map(readResult));
        reportResults(results, (line) => {
          ctx.log(line);
        });
      }),
    ],
  };
}

/** The files each check reads, from one walk of the project made on first use. */
interface ProjectLists {
  readonly shellFiles: readonly string[];
  readonly yamlFiles: readonly string[];
  readonly contentFiles: readonly string[];
  readonly packageLists: readonly string[];
  readonly tsFiles: readonly string[];
}

/**
 * The lists of {@link ProjectLists}, made when a check is first evaluated: the walk of the
 * whole project (~500 files, ~7 ms at start-up) is not paid by a command running no lint task.
 */
function projectLists(root: string): () => ProjectLists {
  let lists: ProjectLists | undefined;
  return () => {
    if (lists !== undefined) return lists;
    const all = listProjectFiles(root);
    lists = {
      shellFiles: collectShellFiles(root, all),
      yamlFiles: collectYamlFiles(root, all),
      contentFiles: [
        ...new Set([
          IMAGE_LIST_FILE,
          ...collectTree(root, 'images', all),
          ...collectTree(root, 'packages-specs', all),
          ...collectTree(root, 'salt', all),
        ]),
      ],
      packageLists: collectTree(root, 'packages-specs', all).filter((f) =>
        /^packages-specs\/[^/]+\.yaml$/.test(f),
      ),
      tsFiles: collectTsFiles(root, all),
    };
    return lists;
  };
}

function checkSpecs(config: BuildConfig): CheckSpec[] {
  const root = config.root;
  const workDir = path.join(config.buildRoot, 'lint', 'work');
  const values = templateValues(readProjectVersion(root));
  const tool = (name: string): string => config.tools[name]?.bin ?? name;
  const lists = projectLists(root);
  // The specs decide whether rpmspec is needed: listed now, from their directory only.
  const specs = collectSpecFiles(root, listProjectFiles(root, 'packages-specs'));
  const allowUnpinned = config.settings.allowUnpinnedImages;
  // templates (*.in) are rendered with the version: its file is an input
  const versionDep = existsSync(path.join(root, 'VERSION')) ? 'VERSION' : 'package.json';
  return [
    {
      sub: 'shell',
      doc: 'shellcheck every shell script shipped or used (scripts/, iso-root/, .ci/run; *.sh.in rendered)',
      fileDeps: () => [...lists().shellFiles, versionDep],
      tools: ['shellcheck'],
      params: { values },
      // The linters' modules load when a check runs (yaml and parsers cost start-up time).
      run: async (ctx) =>
        (await import('./run-linters.ts')).lintShellFiles({
          root,
          workDir,
          files: lists().shellFiles,
          values,
          bin: tool('shellcheck'),
          exec: contextExec(ctx),
        }),
    },
    {
      sub: 'yaml',
      doc: 'yamllint the YAML files with .yamllint (Jinja .sls excluded with a reason)',
      fileDeps: () => [...new Set([...lists().yamlFiles, YAMLLINT_CONFIG_FILE, versionDep])],
      tools: ['yamllint'],
      params: { values },
      run: async (ctx) =>
        (await import('./run-linters.ts')).lintYamlFiles({
          root,
          workDir,
          files: lists().yamlFiles,
          values,
          bin: tool('yamllint'),
          exec: contextExec(ctx),
          configFile: YAMLLINT_CONFIG_FILE,
          log: (l) => {
            ctx.log(l);
          },
        }),
    },
    {
      sub: 'content',
      doc: 'check the image list (digests, names, duplicates, build contexts), specs (rpmspec -P) and the Salt file list',
      fileDeps: () => lists().contentFiles,
      tools: specs.length > 0 ? ['rpmspec'] : [],
      envKeys: ['ALLOW_UNPINNED_IMAGES'],
      params: { specs, allowUnpinned },
      run: async (ctx) =>
        (await import('./run-content.ts')).lintContent({
          root,
          workDir,
          exec: contextExec(ctx),
          rpmspecBin: tool('rpmspec'),
          allowUnpinned,
          projectName: config.projectName,
          packageLists: [...lists().packageLists],
          specs,
        }),
    },
    {
      sub: 'ts',
      doc: 'tsc --noEmit, eslint and the import rules (dependency-cruiser) on the TypeScript sources',
      fileDeps: () => [
        ...lists().tsFiles,
        'package-lock.json',
        ...(existsSync(path.join(root, DEPCRUISE_CONFIG)) ? [DEPCRUISE_CONFIG] : []),
      ],
      tools: [],
      params: {},
      run: (ctx) =>
        lintTypeScript({ root, exec: contextExec(ctx), checkedFiles: lists().tsFiles.length }),
    },
  ];
}

/**
 * Lint tasks: `lint` (all four, fails if any failed), `lint:shell`, `lint:yaml`,
 * `lint:content`, `lint:ts`, and their private `lint:<sub>:_check` tasks.
 */
// eslint-disable-next-line @typescript-eslint/no-unused-vars -- factory contract; lint reads the repository only
export function createLintTasks(config: BuildConfig, sources: Sources): TaskDefinition[] {
  const tasks: TaskDefinition[] = [];
  for (const spec of checkSpecs(config)) {
    tasks.push(checkTask(config, spec));
    tasks.push(reportTask(config, `lint:${spec.sub}`, spec.doc, [spec.sub]));
  }
  tasks.push(
    reportTask(
      config,
      'lint',
      'run every linter (shell, yaml, content, ts); fails if any failed',
      LINT_SUBTASKS,
    ),
  );
  return tasks;
}
