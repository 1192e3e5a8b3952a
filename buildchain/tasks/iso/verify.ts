/**
 * `verify`: checks a built ISO from the file itself (no mount): implanted md5 (checkisomd5),
 * SHA256SUM beside it (and its detached signature when present), product.txt read as Salt reads
 * it, the volume id, the layout, the images and the yum repositories of the extracted tree.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execDirect } from '../../engine/exec/run-command.ts';
import { TaskError } from '../../engine/task.ts';
import { checkIsoImage } from '../../media/iso/iso-image.ts';
import { readRegularText } from '../../lib/fs/read-bounded.ts';
import { PRODUCT_KEYS, parseProductTxt } from '../../media/product-txt.ts';
import {
  checkIsoMd5,
  extractIso,
  isoVolumeInfo,
  readIsoFilePrimary,
  type IsoReaderTools,
} from '../../media/iso/read-iso.ts';
import {
  checkLayout,
  checkRepositories,
  addProblem,
  newReport,
  type CheckReport,
} from './verify-tree.ts';
import { checkImages } from './verify-images.ts';
import { checkArchives } from './verify-archives.ts';
import { sha256File } from '../../lib/fs/hash.ts';
import { registryIncludeFiles } from '../images/index.ts';

/** Paths every MetalK8s ISO has. */
export const REQUIRED_LAYOUT = [
  'product.txt',
  'bootstrap.sh',
  'restore.sh',
  'backup.sh',
  'upgrade.sh',
  'downgrade.sh',
  'iso-manager.sh',
  'solution-manager.sh',
  'examples/new-node.yaml',
  'salt/top.sls',
  'salt/metalk8s/versions.json',
  'pillar/top.sls',
] as const;

/**
 * What MetalK8s 2.4's repo states take from the ISO for the repositories server, beyond
 * {@link REQUIRED_LAYOUT}: the image-roots template and the registry includes of `name`.
 */
export function registryLayout(name: string): string[] {
  const includes = registryIncludeFiles(name);
  return [
    'salt/metalk8s/repo/files/metalk8s-registry-config.inc.j2',
    includes.include,
    includes.common,
  ];
}

/** Largest SHA256SUM read (bytes): one line per file beside the ISO. */
const MAX_SUM_FILE_BYTES = 1024 * 1024;
/** Time limit of `gpg --verify` on SHA256SUM (ms). */
const GPG_VERIFY_TIMEOUT_MS = 60_000;

/** Options for {@link verifyIso}. */
export interface VerifyIsoOptions {
  readonly iso: string;
  /** Default `<dir>/SHA256SUM`; a missing default file is a problem. */
  readonly checksumFile?: string;
  /** Paths that must exist (default {@link REQUIRED_LAYOUT} and {@link registryLayout} of NAME). */
  readonly layout?: readonly string[];
  /** Product name expected in product.txt NAME= (default: not checked). */
  readonly expectName?: string;
  readonly tools?: IsoReaderTools & { readonly gpg?: string };
  /** Where to extract (default: a temp dir, removed afterwards). */
  readonly workDir?: string;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

async function checkSums(opts: VerifyIsoOptions, report: CheckReport): Promise<void> {
  const sumFile = opts.checksumFile ?? path.join(path.dirname(opts.iso), 'SHA256SUM');
  let text: string;
  try {
    text = readRegularText(sumFile, { maxBytes: MAX_SUM_FILE_BYTES });
  } catch (err) {
    const missing = !(err instanceof TaskError) || err.reason === 'missing-file-dep';
    addProblem(
      report,
      missing ? 'sha256sum-missing' : 'sha256sum-invalid',
      'SHA256SUM',
      missing ? `${sumFile} not found` : err.message,
    );
    return;
  }
  const base = path.basename(opts.iso);
  const line = text.split('\n').find((l) => l.replace(/^[a-f0-9]{64} [ *]/, '') === base);
  const expected = line?.slice(0, 64);
  if (expected === undefined) {
    addProblem(report, 'sha256sum-missing', 'SHA256SUM', `no line for ${base}`);
  } else if ((await sha256File(opts.iso)) !== expected) {
    addProblem(
      report,
      'digest-mismatch',
      'SHA256SUM',
      `${base} does not match (corrupted or rebuilt ISO)`,
    );
  } else {
    report.checked.push('SHA256SUM matches');
  }
  for (const sig of [`${sumFile}.asc`, `${sumFile}.sig`]) {
    if (!(await exists(sig))) continue;
    const r = await execDirect([opts.tools?.gpg ?? 'gpg', '--batch', '--verify', sig, sumFile], {
      reject: false,
      timeoutMs: GPG_VERIFY_TIMEOUT_MS,
    }).catch((err: unknown) => ({
      exitCode: -1,
      stdout: '',
      stderr: err instanceof Error ? err.message : String(err),
    }));
    if (r.exitCode === 0) {
      report.checked.push(`signature ${path.basename(sig)} is valid`);
    } else {
      addProblem(
        report,
        'signature-invalid',
        `signature ${path.basename(sig)}`,
        r.stderr.trim().split('\n').slice(-2).join(' '),
      );
    }
  }
}

/** Checks product.txt and the volume; returns NAME (may be ''). */
async function checkProduct(opts: VerifyIsoOptions, report: CheckReport): Promise<string> {
  const tools = opts.tools ?? {};
  const info = await isoVolumeInfo(opts.iso, tools);
  if (!info.rockRidge) addProblem(report, 'iso-format', 'volume', 'no Rock Ridge extensions');
  if (!info.joliet) addProblem(report, 'iso-format', 'volume', 'no Joliet extensions');
  const text = (await readIsoFilePrimary(opts.iso, '/PRODUCT.TXT;1', tools)).toString('utf8');
  const product = parseProductTxt(text);
  for (const key of PRODUCT_KEYS) {
    if (!product.has(key))
      addProblem(report, 'product-invalid', 'product.txt', `${key} is missing`);
  }
  if (/[^\n]*[`$"'\\;&|<>()]/.test(text.replace(/^[A-Z_]+=/gm, ''))) {
    addProblem(
      report,
      'product-invalid',
      'product.txt',
      'a value is not plain (not safely sourceable by sh)',
    );
  }
  const name = product.get('NAME') ?? '';
  const version = product.get('VERSION') ?? '';
  if (opts.expectName !== undefined && name !== opts.expectName) {
    addProblem(
      report,
      'product-invalid',
      'product.txt',
      `NAME=${name}, expected ${opts.expectName}`,
    );
  }
  if (info.volumeId !== `${name} ${version}`) {
    addProblem(
      report,
      'volume-id-mismatch',
      '',
      `volume id '${info.volumeId}' is not '${name} ${version}'`,
    );
  }
  report.checked.push(`product.txt: ${name} ${version}; volume id, Rock Ridge, Joliet`);
  return name;
}

/**
 * Runs every check; never throws for a problem of the ISO (see `problems`). A file that is no
 * ISO 9660 image at all (a FIFO, an empty or a text file, a truncated image) is refused first
 * with TaskError `invalid-input` naming it: no reader is ever pointed at it.
 */
export async function verifyIso(opts: VerifyIsoOptions): Promise<CheckReport> {
  checkIsoImage(opts.iso, {
    fix: 'point ISO_VERIFY_PATH (or `verify PATH.iso`) at an ISO image, or build one with npm run build iso',
  });
  const report = newReport();
  const tools = opts.tools ?? {};
  const md5 = await checkIsoMd5(opts.iso, tools);
  if (md5 === 'PASS') report.checked.push('implanted md5 (checkisomd5) PASS');
  else addProblem(report, 'digest-mismatch', 'implanted md5', `checkisomd5 says ${md5}`);
  await checkSums(opts, report);
  const name = await checkProduct(opts, report);
  const work = opts.workDir ?? (await mkdtemp(path.join(os.tmpdir(), 'iso-verify-')));
  try {
    const tree = path.join(work, 'tree');
    await extractIso(opts.iso, tree, tools);
    await checkLayout(
      tree,
      opts.layout ?? [...REQUIRED_LAYOUT, ...registryLayout(name || 'MetalK8s')],
      report,
    );
    await checkImages(tree, report);
    await checkArchives(tree, report);
    await checkRepositories(tree, report);
  } finally {
    if (opts.workDir === undefined) await rm(work, { recursive: true, force: true });
  }
  return report;
}
