/**
 * `verify`: the import-side check of a Solution ISO, before anything is mounted: format, volume
 * id, product.txt, every manifest and blob (sha256), the registry config against the images,
 * the operator manifests, and the SHA256SUM beside the ISO.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { sha256FileOnWorker } from '../../../lib/fs/hash.ts';
import { parseSha256Sums, sha256SumPath } from '../build/checksum.ts';
import { checkIsoBlobs, imageDirs, readIsoImages } from '../build/iso-images.ts';
import {
  checkKeyFile,
  readSignatureOf,
  signaturePath,
  type SignatureInfo,
} from '../build/signature.ts';
import { openIso, type IsoReader } from '../../../media/iso/isoinfo-reader.ts';
import { REGISTRY_CONFIG_FILE, REGISTRY_ROOT_VAR, REPOSITORY_VAR } from '../build/layout.ts';
import { checkManifests } from '../lint/lint-yaml-rules.ts';
import { imageRefsOfTexts } from '../lint/image-refs.ts';
import { checkImageRefs } from '../lint/lint-image-rules.ts';
import { error, warning, type Problem } from '../lint/problems.ts';
import {
  ARCHIVE_LAYOUT_VERSION,
  isValidProductName,
  isValidSemver,
  isValidSemverRange,
  parseProductTxt,
  volumeId,
} from '../build/product.ts';
import { renderRegistryConfig } from '../build/registry-config.ts';
import { execDirect, type Exec } from '../../../engine/exec/run-command.ts';

/** Options for {@link verifySolutionIso}. */
export interface VerifyOptions {
  readonly isoinfo?: string;
  /** Check the SHA256SUM beside the ISO (default true). */
  readonly checksum?: boolean;
  /**
   * A file of public keys: `SHA256SUM.asc` beside the ISO must be a good signature of SHA256SUM
   * by one of them. Without it, a signature found there is reported as not checked (warning).
   */
  readonly key?: string;
  /** gpg binary (GPG_BIN). */
  readonly gpg?: string;
  readonly run?: Exec;
}

/** Result of {@link verifySolutionIso}. */
export interface VerifyResult {
  readonly problems: readonly Problem[];
  readonly product: Readonly<Record<string, string>> | undefined;
  /** What gpg said about `SHA256SUM.asc` (absent: no signature beside the ISO). */
  readonly signature?: SignatureInfo;
}

const TOP_LEVEL = new Set([
  'product.txt',
  'manifest.yaml',
  REGISTRY_CONFIG_FILE,
  'images',
  'operator',
  'ui',
]);

async function checkProductTxt(
  iso: IsoReader,
  problems: Problem[],
): Promise<Record<string, string> | undefined> {
  const e = iso.entries.get('product.txt');
  if (e === undefined) {
    problems.push(
      error(
        'product-missing',
        'product.txt',
        'no product.txt at the ISO root',
        'rebuild the ISO with `metalk8s-solution build`',
      ),
    );
    return undefined;
  }
  const p = parseProductTxt((await iso.read(e)).toString('utf8'));
  const F = 'product.txt';
  const name = p.NAME ?? '';
  const version = p.VERSION ?? '';
  if (!isValidProductName(name))
    problems.push(
      error(
        'name-format',
        F,
        `NAME ${JSON.stringify(name)} is invalid`,
        'fix name in solution.yaml and rebuild',
      ),
    );
  if (!isValidSemver(version))
    problems.push(
      error(
        'version-semver',
        F,
        `VERSION ${JSON.stringify(version)} is not a semantic version`,
        'fix version in solution.yaml and rebuild',
      ),
    );
  if (!isValidSemverRange(p.REQUIRE_METALK8S ?? ''))
    problems.push(
      error(
        'require-metalk8s-range',
        F,
        `REQUIRE_METALK8S ${JSON.stringify(p.REQUIRE_METALK8S ?? '')} is not a version range`,
        'fix requireMetalK8s and rebuild',
      ),
    );
  if (p.ARCHIVE_LAYOUT_VERSION !== String(ARCHIVE_LAYOUT_VERSION))
    problems.push(
      error(
        'layout-version',
        F,
        `ARCHIVE_LAYOUT_VERSION is ${JSON.stringify(p.ARCHIVE_LAYOUT_VERSION ?? '')}, expected ${ARCHIVE_LAYOUT_VERSION}`,
        'rebuild with this tool',
      ),
    );
  const expected = volumeId(name, version);
  if (iso.descriptor.volumeId !== expected) {
    problems.push(
      error(
        'volume-id-mismatch',
        '',
        `volume id is "${iso.descriptor.volumeId}", product.txt says "${expected}"`,
        'rebuild the ISO: MetalK8s expects the volume id "<NAME> <VERSION>"',
      ),
    );
  }
  return p;
}

async function checkRegistryConfig(
  iso: IsoReader,
  images: Parameters<typeof renderRegistryConfig>[0],
  problems: Problem[],
): Promise<void> {
  const e = iso.entries.get(REGISTRY_CONFIG_FILE);
  if (e === undefined) {
    problems.push(
      error(
        'registry-config-missing',
        REGISTRY_CONFIG_FILE,
        'no registry config: the images cannot be served',
        'rebuild the ISO',
      ),
    );
    return;
  }
  const actual = (await iso.read(e)).toString('utf8');
  const opts = { namePrefix: REPOSITORY_VAR, serverRoot: REGISTRY_ROOT_VAR };
  if (actual === renderRegistryConfig(images, opts)) return;
  if (actual === renderRegistryConfig(images, { ...opts, reference: true })) {
    // The reference script's output (or this tool's before the fallback locations): it serves
    // every image; an unknown tag answers NAME_UNKNOWN instead of MANIFEST_UNKNOWN, and its
    // unescaped blob patterns also match paths where a dot of the names is another character.
    problems.push(
      warning(
        'registry-config-legacy',
        REGISTRY_CONFIG_FILE,
        "the reference generator's format: an unknown tag of an image answers NAME_UNKNOWN, not MANIFEST_UNKNOWN, and blob patterns leave dots unescaped",
        "rebuild the ISO with this tool to get the spec's MANIFEST_UNKNOWN answers",
      ),
    );
  } else {
    problems.push(
      error(
        'registry-config-mismatch',
        REGISTRY_CONFIG_FILE,
        'does not match the images of the ISO (missing, extra or stale locations or digests)',
        'rebuild the ISO so that the config is generated from its images',
      ),
    );
  }
}

async function checkOperator(iso: IsoReader, problems: Problem[]): Promise<void> {
  const texts = new Map<string, string>();
  for (const e of iso.entries.values()) {
    if (e.type === 'file' && /^(operator\/deploy|ui)\/.*\.yaml$/.test(e.path))
      texts.set(e.path, (await iso.read(e)).toString('utf8'));
  }
  problems.push(...checkManifests(texts));
  // Every image the manifests reference is on the ISO (ui/ files are rendered already).
  const packaged = imageDirs(iso).map((d) => ({ name: d.name, version: d.tag }));
  problems.push(
    ...checkImageRefs(imageRefsOfTexts(texts, undefined), packaged, {
      imageFile: (i) => `images/${i.name}/${i.version}`,
    }),
  );
}

async function checkSha256Sum(file: string, problems: Problem[]): Promise<void> {
  const sumFile = sha256SumPath(file);
  const text = await readFile(sumFile, 'utf8').catch(() => undefined);
  const expected = text === undefined ? undefined : parseSha256Sums(text).get(path.basename(file));
  if (expected === undefined) {
    problems.push(
      error(
        'sha256sum-missing',
        path.basename(sumFile),
        `no checksum of ${path.basename(file)} in ${sumFile}`,
        'keep the SHA256SUM written by the build beside the ISO (or pass --no-checksum)',
      ),
    );
    return;
  }
  const actual = await sha256FileOnWorker(file).catch(() => 'unreadable');
  if (actual !== expected) {
    problems.push(
      error(
        'sha256sum-mismatch',
        path.basename(file),
        `sha256 is ${actual}, SHA256SUM says ${expected}`,
        'the ISO was modified or corrupted after the build: download or build it again',
      ),
    );
  }
}

const SIGNATURE_FIX =
  'the ISO or SHA256SUM was changed after signing, or signed by another key: download all three again, or rebuild with --sign-key';

/** Checks `SHA256SUM.asc` beside `file` (with `o.key`: required and good). */
async function checkSumSignature(
  file: string,
  o: VerifyOptions,
  run: Exec,
  problems: Problem[],
): Promise<SignatureInfo | undefined> {
  const sumFile = sha256SumPath(file);
  const sig = signaturePath(sumFile);
  const name = path.basename(sig);
  const info = await readSignatureOf(sumFile, o.key, { gpg: o.gpg ?? 'gpg', run });
  if (info === undefined) {
    if (o.key !== undefined)
      problems.push(
        error(
          'signature-missing',
          name,
          `no signature ${sig} beside the ISO, and --key asks for one`,
          'keep the SHA256SUM.asc written by `build --sign-key` beside the ISO and SHA256SUM',
        ),
      );
    return undefined;
  }
  const who = `${info.signer ?? info.issuer ?? 'an unknown signer'} (key ${info.key ?? '?'})`;
  if (o.key === undefined) {
    problems.push(
      warning(
        'signature-unchecked',
        name,
        info.status === 'unreadable'
          ? `not checked: ${info.detail}`
          : `signed by ${who}; not checked`,
        "pass --key with the signer's public key to check it",
      ),
    );
  } else if (info.status === 'unknown-key') {
    problems.push(
      error(
        'signature-invalid',
        name,
        `signed by ${who}, which is not a key of ${o.key}`,
        `check the key file, or ${SIGNATURE_FIX}`,
      ),
    );
  } else if (info.status !== 'good') {
    const what: Record<SignatureInfo['status'], string> = {
      good: '',
      bad: `is a BAD signature of SHA256SUM by ${who}`,
      'unknown-key': '',
      'expired-key': `was made by ${who}, whose key has expired`,
      'revoked-key': `was made by ${who}, whose key was revoked`,
      unreadable: `is not an OpenPGP signature (${info.detail || 'gpg read nothing'})`,
    };
    problems.push(error('signature-invalid', name, what[info.status], SIGNATURE_FIX));
  }
  return info;
}

/**
 * Verifies `file`; never throws for problems of the ISO itself (only for missing tools, and a
 * `key` file that holds no public key: UsageError).
 */
export async function verifySolutionIso(
  file: string,
  o: VerifyOptions = {},
): Promise<VerifyResult> {
  const problems: Problem[] = [];
  const run = o.run ?? execDirect;
  if (o.key !== undefined) await checkKeyFile(o.key, '--key', { gpg: o.gpg ?? 'gpg', run });
  let iso: IsoReader;
  try {
    iso = await openIso(file, run, o.isoinfo);
  } catch (err) {
    if (err instanceof Error && 'reason' in err && err.reason === 'tool-not-found') throw err;
    problems.push(
      error(
        'iso-unreadable',
        path.basename(file),
        err instanceof Error ? err.message : String(err),
        'check the path; the file may be truncated or not an ISO',
      ),
    );
    return { problems, product: undefined };
  }
  if (!iso.descriptor.rockRidge || !iso.descriptor.joliet) {
    problems.push(
      error(
        'iso-format',
        '',
        `missing ${[iso.descriptor.rockRidge ? '' : 'Rock Ridge', iso.descriptor.joliet ? '' : 'Joliet'].filter((s) => s !== '').join(' and ')} records`,
        'build with -rock -joliet (metalk8s-solution build does)',
      ),
    );
  }
  // The whole-file hash runs alongside the per-blob hashes (two cores: about twice as fast).
  const sumProblems: Problem[] = [];
  const checksum = o.checksum !== false ? checkSha256Sum(file, sumProblems) : Promise.resolve();
  const product = await checkProductTxt(iso, problems);
  for (const e of iso.entries.values()) {
    if (!e.path.includes('/') && !TOP_LEVEL.has(e.path))
      problems.push(
        warning(
          'layout-unexpected',
          e.path,
          'not part of the Solution layout',
          'remove it from the ISO root',
        ),
      );
  }
  const images = await readIsoImages(iso, problems);
  await checkIsoBlobs(iso, images, problems);
  // Single images as the reference generator serves them; lists with their instances.
  const served = images.map((i) =>
    i.instances.length === 0
      ? { name: i.name, tag: i.tag, manifestHex: i.manifestHex }
      : { ...i, mediaType: i.mediaType, instances: i.instances },
  );
  await checkRegistryConfig(iso, served, problems);
  await checkOperator(iso, problems);
  await checksum;
  problems.push(...sumProblems);
  const signature =
    o.checksum === false ? undefined : await checkSumSignature(file, o, run, problems);
  return { problems, product, ...(signature !== undefined ? { signature } : {}) };
}
