/** `inspect`: what a Solution ISO holds, read without mounting it. */
import { stat } from 'node:fs/promises';
import { readIsoImages } from '../build/iso-images.ts';
import { isoSizes } from '../../../media/iso/isoinfo-listing.ts';
import { openIso } from '../../../media/iso/isoinfo-reader.ts';
import { parseProductTxt } from '../build/product.ts';
import { sha256SumPath } from '../build/checksum.ts';
import { checkKeyFile, readSignatureOf, type SignatureInfo } from '../build/signature.ts';
import type { Problem } from '../lint/problems.ts';
import { execDirect, type Exec } from '../../../engine/exec/run-command.ts';

/** One image of the report. */
export interface InspectImage {
  readonly name: string;
  readonly tag: string;
  /** `sha256:<hex>` of manifest.json. */
  readonly digest: string;
  /** Bytes of config + layers, as the manifest says. */
  readonly size: number;
  readonly layers: number;
  /** `os/arch[/variant]` of each instance of a multi-arch image (empty: a single image). */
  readonly platforms: readonly string[];
}

/** The report of {@link inspectSolutionIso} (also the `--json` output). */
export interface InspectReport {
  readonly file: string;
  readonly volumeId: string;
  readonly rockRidge: boolean;
  readonly joliet: boolean;
  /** product.txt fields ({} when absent). */
  readonly product: Readonly<Record<string, string>>;
  readonly layoutVersion: string | undefined;
  readonly hasManifestYaml: boolean;
  readonly images: readonly InspectImage[];
  readonly operatorFiles: readonly string[];
  readonly uiFiles: readonly string[];
  /** Bytes: the ISO file, all files counting every name, and stored contents counted once. */
  readonly sizes: { readonly iso: number; readonly files: number; readonly deduplicated: number };
  /** Problems met while reading (e.g. a missing manifest). */
  readonly problems: readonly Problem[];
  /** Who signed `SHA256SUM` (its `SHA256SUM.asc` beside the ISO); absent when unsigned. */
  readonly signature?: SignatureInfo;
}

/** Options for {@link inspectSolutionIso}. */
export interface InspectOptions {
  readonly isoinfo?: string;
  /** Public keys to check the signature with (the signer's name is known only then). */
  readonly key?: string;
  readonly gpg?: string;
  readonly run?: Exec;
}

export async function inspectSolutionIso(
  file: string,
  o: InspectOptions = {},
): Promise<InspectReport> {
  const run = o.run ?? execDirect;
  const gpg = { gpg: o.gpg ?? 'gpg', run };
  if (o.key !== undefined) await checkKeyFile(o.key, '--key', gpg);
  const iso = await openIso(file, run, o.isoinfo);
  const productEntry = iso.entries.get('product.txt');
  const product =
    productEntry === undefined
      ? {}
      : parseProductTxt((await iso.read(productEntry)).toString('utf8'));
  const problems: Problem[] = [];
  const images = (await readIsoImages(iso, problems)).map((i) => ({
    name: i.name,
    tag: i.tag,
    digest: `sha256:${i.manifestHex}`,
    size: i.blobs.reduce((n, b) => n + b.size, 0),
    layers: i.blobs.length - (i.platforms.length === 0 ? 1 : i.platforms.length),
    platforms: i.platforms,
  }));
  const files = [...iso.entries.values()].filter((e) => e.type === 'file');
  const sizes = isoSizes(files);
  const signature = await readSignatureOf(sha256SumPath(file), o.key, gpg);
  return {
    file,
    volumeId: iso.descriptor.volumeId,
    rockRidge: iso.descriptor.rockRidge,
    joliet: iso.descriptor.joliet,
    product,
    layoutVersion: product.ARCHIVE_LAYOUT_VERSION,
    hasManifestYaml: iso.entries.has('manifest.yaml'),
    images,
    operatorFiles: files.filter((e) => e.path.startsWith('operator/')).map((e) => e.path),
    uiFiles: files.filter((e) => e.path.startsWith('ui/')).map((e) => e.path),
    sizes: { iso: (await stat(file)).size, files: sizes.total, deduplicated: sizes.deduplicated },
    problems,
    ...(signature !== undefined ? { signature } : {}),
  };
}

/** One line on the signer: who, which key, when, and whether the signature was checked. */
export function describeSignature(s: SignatureInfo | undefined): string {
  if (s === undefined) return 'none (no SHA256SUM.asc beside the ISO)';
  const key = s.key === undefined ? '' : ` key ${s.key}`;
  const when = s.created === undefined ? '' : `, ${s.created}`;
  switch (s.status) {
    case 'good':
      return `${s.signer ?? '?'}${key}${when} (good signature)`;
    case 'unknown-key':
      return `${s.issuer ?? 'unknown signer'}${key}${when} (not checked: pass --key with the signer's public key)`;
    case 'bad':
      return `${s.signer ?? s.issuer ?? '?'}${key} (BAD signature: SHA256SUM changed after signing)`;
    case 'expired-key':
      return `${s.signer ?? '?'}${key}${when} (key expired)`;
    case 'revoked-key':
      return `${s.signer ?? '?'}${key}${when} (key revoked)`;
    case 'unreadable':
      return `unreadable SHA256SUM.asc (${s.detail})`;
  }
}

function human(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u] ?? ''}`;
}

/** Human-readable report. */
export function formatInspectReport(r: InspectReport): string {
  const row = (k: string, v: string): string => `${`${k}:`.padEnd(24)}${v}`;
  const lines = [
    row('ISO', r.file),
    row(
      'Volume id',
      `${r.volumeId}${r.rockRidge ? '' : ' (no Rock Ridge!)'}${r.joliet ? '' : ' (no Joliet!)'}`,
    ),
    ...Object.entries(r.product).map(([k, v]) => row(k, v)),
    row(
      'Layout',
      `${r.layoutVersion ?? '(unknown)'}${r.hasManifestYaml ? ' + manifest.yaml' : ''}`,
    ),
    `Images (${r.images.length}):`,
    ...r.images.map(
      (i) =>
        `  ${i.name}:${i.tag}  ${i.digest}  ${human(i.size)}  ${i.layers} layer(s)` +
        (i.platforms.length === 0 ? '' : `  [${i.platforms.join(', ')}]`),
    ),
    `Operator files (${r.operatorFiles.length}):`,
    ...r.operatorFiles.map((f) => `  ${f}`),
    ...(r.uiFiles.length > 0
      ? [`UI files (${r.uiFiles.length}):`, ...r.uiFiles.map((f) => `  ${f}`)]
      : []),
    row('Signed by', describeSignature(r.signature)),
    row(
      'Sizes',
      `ISO ${human(r.sizes.iso)}, files ${human(r.sizes.files)}, deduplicated ${human(r.sizes.deduplicated)}`,
    ),
  ];
  return lines.join('\n');
}
