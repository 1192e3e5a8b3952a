/**
 * Product information of a Solution: field validation, `product.txt` (archive layout 1) and the
 * later `manifest.yaml` (solutions.metalk8s.scality.com/v1alpha1). Pure functions.
 */
import YAML from 'yaml';
import { rejectValue } from '../../../lib/text/quote.ts';
import { formatTimestamp, shSafe } from '../../../media/product-txt.ts';

export { formatTimestamp };

/** The archive layout this tool writes and checks. */
export const ARCHIVE_LAYOUT_VERSION = 1;
/** ISO-9660 volume identifiers hold at most 32 bytes. */
export const MAX_VOLUME_ID_BYTES = 32;

/** Fields of `product.txt`, in file order. */
export interface ProductInfo {
  readonly name: string;
  readonly version: string;
  /** A semver range, e.g. `>=2.4.0`. */
  readonly requireMetalK8s: string;
  readonly archiveLayoutVersion: number;
  /** `git describe --always --long --tags --dirty`, '' outside git. */
  readonly git: string;
  /** UTC `YYYY-MM-DDTHH:MM:SSZ`. */
  readonly buildTimestamp: string;
}

// Single dashes or single spaces between words: 2.4 accepts display names with spaces
// (`NAME=Example Solution`) and derives the env name from them (see archiveId).
const NAME_RE = /^[A-Za-z][A-Za-z0-9]*(?:[- ][A-Za-z0-9]+)*$/;
const ID = '(?:0|[1-9]\\d*|\\d*[A-Za-z-][0-9A-Za-z-]*)';
const SEMVER_RE = new RegExp(
  `^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(?:-${ID}(?:\\.${ID})*)?$`,
);
const PARTIAL =
  '(?:0|[1-9]\\d*|[xX*])(?:\\.(?:0|[1-9]\\d*|[xX*])){0,2}(?:-[0-9A-Za-z-]+(?:\\.[0-9A-Za-z-]+)*)?';
const COMPARATOR_RE = new RegExp(`^(?:>=|<=|>|<|=|~|\\^)?v?${PARTIAL}$`);
const HYPHEN_RE = new RegExp(`^${PARTIAL} - ${PARTIAL}$`);

/** Characters of a range, all literal inside sh double quotes (no `$`, backquote, `"`, `\`). */
const RANGE_CHARS = /^[0-9A-Za-z.*<>=~^| -]+$/;

/**
 * Product names (display names) become, lowercased with spaces as dashes, part of repository
 * names: letters, digits, single dashes or spaces between words.
 */
export function isValidProductName(name: string): boolean {
  return NAME_RE.test(name) && name.length <= 64;
}

/** Semantic version without build metadata (`+...` cannot appear in repository names). */
export function isValidSemver(version: string): boolean {
  return SEMVER_RE.test(version);
}

/** node-semver style ranges: comparator sets joined by `||`, or `A - B` hyphen ranges. */
export function isValidSemverRange(range: string): boolean {
  const trimmed = range.trim();
  // One line of spaces between comparators: product.txt carries it in sh double quotes.
  if (trimmed === '' || !RANGE_CHARS.test(trimmed)) return false;
  return trimmed.split('||').every((set) => {
    const s = set.trim().replace(/(>=|<=|>|<|=|~|\^)\s+/g, '$1');
    if (s === '') return false;
    if (HYPHEN_RE.test(s)) return true;
    return s.split(/\s+/).every((c) => COMPARATOR_RE.test(c));
  });
}

/** `<NAME> <VERSION>`, the volume id MetalK8s expects. */
export function volumeId(name: string, version: string): string {
  return `${name} ${version}`;
}

/**
 * The env name MetalK8s 2.4 derives (`name | replace(' ', '-') | lower ~ '-' ~ version`): the
 * registry prefix, the mount point `/srv/scality/<env>` and the default ISO name.
 */
export function archiveId(name: string, version: string): string {
  return `${name.replaceAll(' ', '-').toLowerCase()}-${version}`;
}

/** Default ISO file name. */
export function isoFileName(name: string, version: string): string {
  return `${archiveId(name, version)}.iso`;
}

/**
 * `product.txt`: KEY=VALUE lines as 2.4 reads them (`^NAME=(.+)$`: the value as written, so a
 * display name with spaces stays unquoted); the range is quoted as in the docs. Lint checks the
 * fields first; a value outside the accepted grammar is refused here too.
 */
export function renderProductTxt(p: ProductInfo): string {
  const fix = 'fix solution.yaml (`metalk8s-solution lint` names the problem)';
  if (!isValidProductName(p.name))
    rejectValue('product.txt NAME', p.name, 'is not a valid product name', fix);
  if (!isValidSemver(p.version))
    rejectValue('product.txt VERSION', p.version, 'is not a semantic version', fix);
  if (!isValidSemverRange(p.requireMetalK8s)) {
    rejectValue(
      'product.txt REQUIRE_METALK8S',
      p.requireMetalK8s,
      'is not a version range sh can read in double quotes',
      fix,
    );
  }
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(p.buildTimestamp)) {
    rejectValue(
      'product.txt BUILD_TIMESTAMP',
      p.buildTimestamp,
      'is not YYYY-MM-DDTHH:MM:SSZ',
      'set SOURCE_DATE_EPOCH to seconds since 1970',
    );
  }
  return [
    `NAME=${p.name}`,
    `VERSION=${p.version}`,
    `REQUIRE_METALK8S="${p.requireMetalK8s}"`,
    `ARCHIVE_LAYOUT_VERSION=${String(Math.trunc(p.archiveLayoutVersion))}`,
    `GIT=${shSafe(p.git)}`,
    `BUILD_TIMESTAMP=${p.buildTimestamp}`,
    '',
  ].join('\n');
}

/** Parses KEY=VALUE lines; surrounding double or single quotes are removed. */
export function parseProductTxt(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0])) {
      value = value.slice(1, -1);
    }
    out[line.slice(0, eq).trim()] = value;
  }
  return out;
}

/** Options for {@link renderManifestYaml}. */
export interface ManifestYamlOptions {
  readonly product: ProductInfo;
  readonly images: readonly { readonly name: string; readonly version: string }[];
  /** Image carrying the operator (`<name>:<tag>`), if any. */
  readonly operatorImage?: string;
  /** Image carrying the UI, if any. */
  readonly uiImage?: string;
}

/** The later `manifest.yaml` layout (MetalK8s >= 2.5 Solutions). */
export function renderManifestYaml(opts: ManifestYamlOptions): string {
  const p = opts.product;
  const spec: Record<string, unknown> = { version: p.version };
  const imageRef = (ref: string): Record<string, string> => {
    const [name = ref, tag = p.version] = ref.split(':');
    return { name, tag };
  };
  if (opts.operatorImage !== undefined) spec.operator = { image: imageRef(opts.operatorImage) };
  if (opts.uiImage !== undefined) spec.ui = { image: imageRef(opts.uiImage) };
  spec.images = opts.images.map((i) => `${i.name}:${i.version}`);
  const doc = {
    apiVersion: 'solutions.metalk8s.scality.com/v1alpha1',
    kind: 'Solution',
    metadata: {
      annotations: {
        'solutions.metalk8s.scality.com/display-name': p.name,
        'solutions.metalk8s.scality.com/git': p.git,
        'solutions.metalk8s.scality.com/build-timestamp': p.buildTimestamp,
        'solutions.metalk8s.scality.com/require-metalk8s': p.requireMetalK8s,
      },
      name: p.name.replaceAll(' ', '-').toLowerCase(),
    },
    spec,
  };
  return YAML.stringify(doc);
}
