/**
 * lint:content: the image list, the package lists and their specs, and the shipped Salt file
 * list. Reads the disk and runs `rpmspec -P`; findings are values.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { IMAGE_LIST_FILE } from '../../config/images.ts';
import { parsePackageList } from '../../config/packages.ts';
import type { PackageSpec } from '../../config/content-types.ts';
import { TaskError } from '../../engine/task.ts';
import type { LintFinding, LintResult } from './findings.ts';
import { checkImageList } from './image-checks.ts';
import {
  checkSpecReferences,
  compareFileList,
  parseRpmspecErrors,
  type SpecFile,
} from './package-checks.ts';
import type { Exec } from '../../engine/exec/run-command.ts';
import { loadSaltFileList, type SaltFileList } from './salt-list.ts';
import { SALT_MANIFEST } from '../salt/index.ts';

/** Options for {@link lintContent}. */
export interface ContentLintOptions {
  readonly root: string;
  /** Scratch dir (rpmspec's _topdir). */
  readonly workDir: string;
  readonly exec: Exec;
  /** rpmspec binary (RPMSPEC_BIN). */
  readonly rpmspecBin: string;
  readonly allowUnpinned: boolean;
  readonly projectName: string;
  /** Package list files, relative (`packages-specs/<osFamily>.yaml`). */
  readonly packageLists: readonly string[];
  readonly specs: readonly SpecFile[];
  /** Image list file, relative (default images/images.yaml). */
  readonly imageList?: string;
}

async function imageFindings(opts: ContentLintOptions): Promise<LintFinding[]> {
  const file = opts.imageList ?? IMAGE_LIST_FILE;
  const abs = path.join(opts.root, file);
  if (!existsSync(abs))
    return [{ file, severity: 'error', rule: 'image-list', message: 'image list not found' }];
  return checkImageList(await readFile(abs, 'utf8'), {
    file,
    allowUnpinned: opts.allowUnpinned,
    exists: (p) => existsSync(path.join(opts.root, p)),
  });
}

async function packageFindings(opts: ContentLintOptions): Promise<LintFinding[]> {
  const findings: LintFinding[] = [];
  const built: PackageSpec[] = [];
  for (const file of opts.packageLists) {
    const osFamily = path.basename(file, '.yaml');
    try {
      const doc: unknown = parse(await readFile(path.join(opts.root, file), 'utf8'));
      built.push(
        ...parsePackageList(file, doc, osFamily, { projectName: opts.projectName }).packages,
      );
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      findings.push({
        file,
        severity: 'error',
        rule: 'package-list',
        message: message.replace(`${file}: `, ''),
      });
    }
  }
  findings.push(
    ...checkSpecReferences(
      opts.specs,
      built,
      opts.packageLists.join(', ') || 'packages-specs/*.yaml',
    ),
  );
  const topdir = path.join(opts.workDir, 'rpmspec');
  await mkdir(topdir, { recursive: true });
  for (const spec of opts.specs) {
    const argv = [
      opts.rpmspecBin,
      '-P',
      '--define',
      `_topdir ${topdir}`,
      '--define',
      'dist .el7',
      spec.path,
    ];
    const res = await opts.exec(argv, { cwd: opts.root, reject: false });
    if (res.exitCode !== 0) findings.push(...parseRpmspecErrors(res.stderr, spec.path));
  }
  return findings;
}

async function saltFindings(root: string): Promise<LintFinding[]> {
  let list: SaltFileList | undefined;
  try {
    list = await loadSaltFileList(root);
  } catch (err) {
    return [
      {
        file: SALT_MANIFEST,
        severity: 'error',
        rule: 'salt-list',
        message: err instanceof Error ? err.message : String(err),
      },
    ];
  }
  if (list === undefined) {
    return [
      {
        file: SALT_MANIFEST,
        severity: 'warning',
        rule: 'salt-list',
        message: 'not found: the shipped Salt file list was not compared with the tree',
      },
    ];
  }
  return compareFileList({
    listFile: list.file,
    listed: list.listed,
    present: list.present,
    exempt: list.exempt,
    ...(list.lines ? { lines: list.lines } : {}),
  });
}

/** Runs every content check; a missing rpmspec is a `tool-not-found` failure. */
export async function lintContent(opts: ContentLintOptions): Promise<LintResult> {
  const findings = [...(await imageFindings(opts))];
  if (opts.specs.length > 0 && !existsSyncOnPath(opts.rpmspecBin)) {
    throw new TaskError('tool-not-found', `rpmspec not found (${opts.rpmspecBin})`, {
      hint: 'install rpm (npm run setup) or set RPMSPEC_BIN',
    });
  }
  findings.push(...(await packageFindings(opts)));
  findings.push(...(await saltFindings(opts.root)));
  const checked = 1 + opts.packageLists.length + opts.specs.length;
  return { subtask: 'content', checkedFiles: checked, findings };
}

function existsSyncOnPath(bin: string): boolean {
  if (bin.includes('/')) return existsSync(bin);
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .some((d) => d !== '' && existsSync(path.join(d, bin)));
}
