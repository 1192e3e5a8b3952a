/**
 * A CycloneDX 1.5 JSON SBOM of the ISO, written by hand from the build report: one `container`
 * component per image (purl `pkg:oci/<name>@sha256:...`) and one `library` component per RPM
 * (purl `pkg:rpm/<vendor>/<name>@<version>-<release>?arch=...`), all with sha256 hashes. Pure.
 */
import type { BuildReport, ReportImage, ReportRpm } from './report-types.ts';

/** The subset of CycloneDX 1.5 written here. */
export interface CycloneDxBom {
  readonly bomFormat: 'CycloneDX';
  readonly specVersion: '1.5';
  readonly serialNumber: string;
  readonly version: 1;
  readonly metadata: Record<string, unknown>;
  readonly components: readonly Record<string, unknown>[];
}

/** Deterministic `urn:uuid:` from the ISO sha256 (same ISO, same serial number). */
export function serialFromSha256(sha256: string): string {
  const h = sha256.padEnd(32, '0');
  const variant = ((parseInt(h.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Percent-encodes a purl segment (RFC 3986 unreserved characters stay). */
function enc(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** `pkg:oci/<name>@<digest>?tag=<version>` */
export function imagePurl(image: ReportImage): string {
  return `pkg:oci/${enc(image.name)}@${enc(image.digest)}?tag=${enc(image.version)}`;
}

/** `pkg:rpm/<namespace>/<name>@<version>-<release>?arch=<arch>[&epoch=<n>]` */
export function rpmPurl(rpm: ReportRpm, namespace: string): string {
  const epoch = rpm.epoch === undefined ? '' : `&epoch=${rpm.epoch}`;
  return `pkg:rpm/${enc(namespace)}/${enc(rpm.name)}@${enc(`${rpm.version}-${rpm.release}`)}?arch=${enc(rpm.arch)}${epoch}`;
}

function imageComponent(image: ReportImage): Record<string, unknown> {
  const hash = image.archiveSha256 ?? image.digest.replace(/^sha256:/, '');
  return {
    type: 'container',
    'bom-ref': `image:${image.name}:${image.version}`,
    name: image.name,
    version: image.version,
    purl: imagePurl(image),
    hashes: [{ alg: 'SHA-256', content: hash }],
    properties: [
      { name: 'metalk8s:path', value: image.path },
      { name: 'metalk8s:ship', value: image.ship },
      { name: 'metalk8s:mediaType', value: image.mediaType },
    ],
  };
}

function rpmComponent(rpm: ReportRpm, namespace: string): Record<string, unknown> {
  return {
    type: 'library',
    'bom-ref': `rpm:${rpm.repo}:${rpm.nevra}`,
    name: rpm.name,
    version: `${rpm.epoch === undefined ? '' : `${rpm.epoch}:`}${rpm.version}-${rpm.release}`,
    purl: rpmPurl(rpm, namespace),
    hashes: [{ alg: 'SHA-256', content: rpm.sha256 }],
    properties: [
      { name: 'metalk8s:path', value: rpm.path },
      { name: 'metalk8s:repository', value: rpm.repo },
    ],
  };
}

/**
 * Builds the SBOM. `timestamp` (ISO 8601) should be the product's BUILD_TIMESTAMP so that the
 * same build gives the same file; `rpmNamespace` is the purl namespace of RPMs (e.g. `centos`).
 */
export function buildSbom(
  report: BuildReport,
  timestamp: string,
  rpmNamespace = 'centos',
): CycloneDxBom {
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: serialFromSha256(report.iso.sha256),
    version: 1,
    metadata: {
      timestamp,
      tools: {
        components: [{ type: 'application', name: 'metalk8s-buildchain', version: report.version }],
      },
      component: {
        type: 'file',
        'bom-ref': 'iso',
        name: report.iso.file,
        version: report.version,
        hashes: [{ alg: 'SHA-256', content: report.iso.sha256 }],
        properties: [
          { name: 'metalk8s:project', value: report.project },
          { name: 'metalk8s:gitRef', value: report.gitRef },
          { name: 'metalk8s:sources', value: report.sources },
        ],
      },
    },
    components: [
      ...report.images.map(imageComponent),
      ...report.rpms.map((r) => rpmComponent(r, rpmNamespace)),
    ],
  };
}
