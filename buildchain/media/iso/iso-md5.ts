/**
 * The checksum `implantisomd5` (isomd5sum) writes into an ISO's primary volume descriptor,
 * computed over a stream while the ISO is written, so no extra pass over the ISO is needed.
 *
 * Format (isomd5sum 1.2): the 512-byte application-use area at PVD offset 883 holds
 * `ISO MD5SUM = <md5>;SKIPSECTORS = 15;RHLISOSTATUS=0;FRAGMENT SUMS = <60 hex>;FRAGMENT COUNT
 * = 20;THIS IS NOT THE SAME AS RUNNING MD5SUM ON THIS ISO!!` padded with spaces. The md5 covers
 * the image up to 15 sectors before its end (the size recorded in the PVD), with the
 * application area read as spaces; the fragment sums are the first hex digit of the first 3
 * bytes of the running md5 at each of 20 fragment boundaries, checked after 32 KiB reads.
 */
import { createHash, type Hash } from 'node:crypto';

export const SECTOR_SIZE = 2048;
/** Offset of the application-use area inside the primary volume descriptor. */
export const APPDATA_OFFSET = 883;
export const APPDATA_SIZE = 512;
const SIZE_OFFSET = 84;
const SKIP_SECTORS = 15;
const FRAGMENT_COUNT = 20;
const FRAGMENT_SUM_SIZE = 60;
/** isomd5sum reads 16 sectors at a time and checks fragment boundaries between reads. */
const READ_SIZE = 16 * SECTOR_SIZE;

/** What {@link IsoMd5Accumulator.finish} returns. */
export interface IsoMd5Result {
  /** Hex md5 as implantisomd5 prints it. */
  readonly md5: string;
  readonly fragmentSums: string;
  /** Byte offset of the application-use area in the ISO (PVD offset + 883). */
  readonly appDataOffset: number;
  /** The 512 bytes to write there. */
  readonly appData: Buffer;
}

/** Bytes buffered before looking for the PVD (volume descriptors start at sector 16). */
const HEAD_SIZE = 64 * SECTOR_SIZE;

/**
 * Feeds ISO bytes in order; computes what implantisomd5 would implant. The md5 is updated with
 * spans as large as the input allows, cut only at the application area and at the points where
 * implantisomd5 would record a fragment sum.
 */
export class IsoMd5Accumulator {
  private readonly md5: Hash = createHash('md5');
  private head: Buffer[] = [];
  private headBytes = 0;
  /** Bytes seen so far (fed to md5 or not). */
  private received = 0;
  private pvdOffset = -1;
  private totalSize = -1;
  private fragmentSize = 0;
  private previousFragment = 0;
  /** Bytes-fed count at which the next fragment sum is taken (Infinity: none left). */
  private nextSnapshot = Infinity;
  /** Start of the 32 KiB read after which that sum is taken. */
  private snapshotBlock = 0;
  private fragmentSums = '';

  update(chunk: Buffer): void {
    if (this.pvdOffset < 0) {
      this.head.push(Buffer.from(chunk));
      this.headBytes += chunk.length;
      if (this.headBytes < HEAD_SIZE) return;
      this.startFromHead();
      return;
    }
    this.feed(chunk);
  }

  private startFromHead(): void {
    const head = Buffer.concat(this.head);
    this.head = [];
    for (let s = 16 * SECTOR_SIZE; s + SECTOR_SIZE <= head.length; s += SECTOR_SIZE) {
      const type = head[s];
      if (type === 1) {
        this.pvdOffset = s;
        this.totalSize = (head.readUInt32BE(s + SIZE_OFFSET) - SKIP_SECTORS) * SECTOR_SIZE;
        break;
      }
      if (type === 255) break;
    }
    if (this.pvdOffset < 0)
      throw new Error('no ISO 9660 primary volume descriptor in the first 64 sectors');
    this.fragmentSize = Math.floor(this.totalSize / (FRAGMENT_COUNT + 1));
    this.planSnapshot();
    this.feed(head);
  }

  /** implantisomd5 checks after each 32 KiB read starting at `s`: fragment floor(s / size). */
  private planSnapshot(): void {
    if (this.fragmentSize <= 0) return;
    const boundary = (this.previousFragment + 1) * this.fragmentSize;
    const s = Math.ceil(boundary / READ_SIZE) * READ_SIZE;
    this.snapshotBlock = s;
    this.nextSnapshot = s < this.totalSize ? Math.min(s + READ_SIZE, this.totalSize) : Infinity;
  }

  private feed(chunk: Buffer): void {
    let data = chunk;
    while (data.length > 0) {
      const at = this.received;
      if (at >= this.totalSize) {
        this.received += data.length;
        return;
      }
      const appStart = this.pvdOffset + APPDATA_OFFSET;
      const cuts = [
        this.totalSize,
        this.nextSnapshot,
        at < appStart ? appStart : appStart + APPDATA_SIZE,
      ];
      const cut = Math.min(...cuts.filter((c) => c > at), at + data.length);
      const span = data.subarray(0, cut - at);
      const inAppData = at >= appStart && at < appStart + APPDATA_SIZE;
      this.md5.update(inAppData ? Buffer.alloc(span.length, 0x20) : span);
      this.received = cut;
      data = data.subarray(span.length);
      if (cut === this.nextSnapshot) this.snapshot();
    }
  }

  private snapshot(): void {
    const digest = this.md5.copy().digest();
    for (let i = 0; i < FRAGMENT_SUM_SIZE / FRAGMENT_COUNT; i++) {
      this.fragmentSums += (digest[i] ?? 0).toString(16).charAt(0);
    }
    this.previousFragment = Math.floor(this.snapshotBlock / this.fragmentSize);
    this.planSnapshot();
  }

  /** Call after the last byte; throws when the stream was not an ISO 9660 image. */
  finish(): IsoMd5Result {
    if (this.pvdOffset < 0 && this.headBytes > 0) this.startFromHead();
    if (this.pvdOffset < 0 || this.totalSize <= 0) {
      throw new Error(`no ISO 9660 primary volume descriptor in ${this.received} bytes`);
    }
    if (this.received < this.totalSize) {
      throw new Error(
        `ISO stream truncated: ${this.received} bytes, PVD says more than ${this.totalSize}`,
      );
    }
    const md5 = this.md5.digest('hex');
    const text =
      `ISO MD5SUM = ${md5};SKIPSECTORS = ${SKIP_SECTORS};RHLISOSTATUS=0;` +
      `FRAGMENT SUMS = ${this.fragmentSums};FRAGMENT COUNT = ${FRAGMENT_COUNT};` +
      'THIS IS NOT THE SAME AS RUNNING MD5SUM ON THIS ISO!!';
    const appData = Buffer.alloc(APPDATA_SIZE, 0x20);
    appData.write(text, 'latin1');
    return {
      md5,
      fragmentSums: this.fragmentSums,
      appDataOffset: this.pvdOffset + APPDATA_OFFSET,
      appData,
    };
  }
}
