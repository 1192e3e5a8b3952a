/** Reads a Solution ISO without mounting it: isoinfo for the descriptor and the listing. */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { TaskError } from '../../engine/task.ts';
import { checkIsoImage } from './iso-image.ts';
import {
  SECTOR,
  parseIsoinfoD,
  parseIsoinfoListing,
  type IsoDescriptor,
  type IsoEntry,
} from './isoinfo-listing.ts';
import type { Exec } from '../../engine/exec/run-command.ts';

/** An opened ISO: descriptor, entries by path, and byte access. */
export interface IsoReader {
  readonly file: string;
  readonly descriptor: IsoDescriptor;
  readonly entries: ReadonlyMap<string, IsoEntry>;
  /** Whole content of a (small) file. */
  read(entry: IsoEntry): Promise<Buffer>;
  /** sha256 hex of a file's content, streamed. */
  sha256(entry: IsoEntry): Promise<string>;
}

/** Read size of {@link IsoReader.sha256}. */
const HASH_READ_SIZE = 4 << 20;

async function* streamEntry(file: string, entry: IsoEntry): AsyncGenerator<Buffer> {
  for (const x of entry.extents) {
    if (x.size === 0) continue;
    const start = x.sector * SECTOR;
    for await (const chunk of createReadStream(file, {
      start,
      end: start + x.size - 1,
      highWaterMark: 1 << 20,
    })) {
      yield chunk as Buffer;
    }
  }
}

/** Opens `file` with isoinfo (ISOINFO_BIN). Throws TaskError `invalid-input` if it is no ISO. */
export async function openIso(file: string, run: Exec, isoinfo = 'isoinfo'): Promise<IsoReader> {
  // A FIFO, a device or a non-ISO file fails here, before isoinfo could block or spin on it.
  checkIsoImage(file, {
    fix: 'check the path: give a Solution ISO built by `metalk8s-solution build`',
  });
  let d: string;
  let l: string;
  try {
    d = (await run([isoinfo, '-d', '-i', file])).stdout;
    l = (await run([isoinfo, '-R', '-l', '-i', file])).stdout;
  } catch (err) {
    if (err instanceof TaskError && err.reason === 'tool-not-found') throw err;
    throw new TaskError('invalid-input', `${file} cannot be read as an ISO-9660 image`, {
      hint: 'check the path; the file may be truncated or not an ISO',
    });
  }
  const descriptor = parseIsoinfoD(d);
  const entries = new Map(parseIsoinfoListing(l).map((e) => [e.path, e]));
  return {
    file,
    descriptor,
    entries,
    read: async (entry) => {
      const parts: Buffer[] = [];
      for await (const c of streamEntry(file, entry)) parts.push(c);
      return Buffer.concat(parts);
    },
    sha256: async (entry) => {
      // Positioned reads into one buffer: no stream or chunk allocation per blob (verify hashes
      // every blob of an ISO this way while the whole-file hash runs on a worker).
      const h = createHash('sha256');
      const fh = await open(file, 'r');
      try {
        const buf = Buffer.allocUnsafe(HASH_READ_SIZE);
        for (const x of entry.extents) {
          let pos = x.sector * SECTOR;
          let left = x.size;
          while (left > 0) {
            const { bytesRead } = await fh.read(buf, 0, Math.min(left, buf.length), pos);
            if (bytesRead === 0) throw new Error(`${file}: ends inside ${entry.path}`);
            h.update(buf.subarray(0, bytesRead));
            pos += bytesRead;
            left -= bytesRead;
          }
        }
      } finally {
        await fh.close();
      }
      return h.digest('hex');
    },
  };
}
