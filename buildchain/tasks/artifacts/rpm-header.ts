/**
 * Reads NAME/EPOCH/VERSION/RELEASE/ARCH from an RPM file's header without `rpm`: the 96-byte
 * lead, the signature header (padded to 8 bytes), then the main header. Pure parsing over a
 * reader function, so tests can cross-check it against `rpm -qp`.
 */

const HEADER_MAGIC = 0x8eade801;
const LEAD_SIZE = 96;
const TAG = {
  name: 1000,
  version: 1001,
  release: 1002,
  epoch: 1003,
  arch: 1022,
  sourcePackage: 1106,
};
const TYPE_INT32 = 4;
const TYPE_STRING = 6;

/** Package identity read from an RPM header. */
export interface RpmIdentity {
  readonly name: string;
  /** Undefined when the package has no epoch. */
  readonly epoch: number | undefined;
  readonly version: string;
  readonly release: string;
  /** `src` for source RPMs, else the ARCH tag (`x86_64`, `noarch`, ...). */
  readonly arch: string;
}

/** Reads `length` bytes at `offset` (shorter at end of file). */
export type ByteReader = (offset: number, length: number) => Promise<Buffer>;

interface HeaderBounds {
  readonly indexCount: number;
  readonly storeSize: number;
}

function headerBounds(buf: Buffer, what: string): HeaderBounds {
  if (buf.length < 16 || buf.readUInt32BE(0) !== HEADER_MAGIC)
    throw new Error(`not an RPM: bad ${what} header magic`);
  return { indexCount: buf.readUInt32BE(8), storeSize: buf.readUInt32BE(12) };
}

/** `name-[epoch:]version-release.arch`, the NEVRA rpm prints with `%{NEVRA}` (epoch omitted when absent). */
export function formatNevra(id: RpmIdentity): string {
  const epoch = id.epoch === undefined ? '' : `${id.epoch}:`;
  return `${id.name}-${epoch}${id.version}-${id.release}.${id.arch}`;
}

/** Parses the identity tags of an RPM through `read`; throws on anything that is not an RPM. */
export async function readRpmIdentity(read: ByteReader): Promise<RpmIdentity> {
  const lead = await read(0, LEAD_SIZE);
  if (lead.length < LEAD_SIZE || lead.readUInt32BE(0) !== 0xedabeedb)
    throw new Error('not an RPM: bad lead magic');
  const sig = headerBounds(await read(LEAD_SIZE, 16), 'signature');
  const sigSize = 16 + sig.indexCount * 16 + sig.storeSize;
  const mainOffset = LEAD_SIZE + sigSize + ((8 - (sigSize % 8)) % 8);
  const main = headerBounds(await read(mainOffset, 16), 'main');
  const indexBytes = main.indexCount * 16;
  const header = await read(mainOffset + 16, indexBytes + main.storeSize);
  if (header.length < indexBytes + main.storeSize) throw new Error('not an RPM: truncated header');
  const store = header.subarray(indexBytes);
  const strings = new Map<number, string>();
  const ints = new Map<number, number>();
  for (let i = 0; i < main.indexCount; i += 1) {
    const tag = header.readUInt32BE(i * 16);
    const type = header.readUInt32BE(i * 16 + 4);
    const offset = header.readUInt32BE(i * 16 + 8);
    if (type === TYPE_STRING) {
      const end = store.indexOf(0, offset);
      strings.set(tag, store.toString('utf8', offset, end < 0 ? store.length : end));
    } else if (type === TYPE_INT32) {
      ints.set(tag, store.readUInt32BE(offset));
    }
  }
  const need = (tag: number, what: string): string => {
    const v = strings.get(tag);
    if (v === undefined) throw new Error(`not an RPM: no ${what} tag`);
    return v;
  };
  const isSource = ints.has(TAG.sourcePackage);
  return {
    name: need(TAG.name, 'NAME'),
    epoch: ints.get(TAG.epoch),
    version: need(TAG.version, 'VERSION'),
    release: need(TAG.release, 'RELEASE'),
    arch: isSource ? 'src' : need(TAG.arch, 'ARCH'),
  };
}
