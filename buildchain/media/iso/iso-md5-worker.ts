/**
 * Worker thread computing the implantisomd5 sum of a file while another thread writes it.
 * Messages in: `{ upTo: number }` (bytes written so far), `{ end: true }`. Out: the result or
 * `{ error }`. Reading happens from the page cache, so the writer never waits for the hash.
 */
import { openSync, readSync, closeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { IsoMd5Accumulator } from './iso-md5.ts';

interface Message {
  readonly upTo?: number;
  readonly end?: boolean;
}

const port = parentPort;
const file = (workerData as { file: string }).file;
if (port !== null) {
  const fd = openSync(file, 'r');
  const acc = new IsoMd5Accumulator();
  const buf = Buffer.alloc(4 << 20);
  let done = 0;
  const readUpTo = (limit: number): void => {
    while (done < limit) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, limit - done), done);
      if (n <= 0) throw new Error(`short read at ${done} of ${file}`);
      acc.update(buf.subarray(0, n));
      done += n;
    }
  };
  port.on('message', (m: Message) => {
    try {
      if (m.upTo !== undefined) readUpTo(m.upTo);
      if (m.end === true) {
        const r = acc.finish();
        closeSync(fd);
        port.postMessage({ result: { ...r, appData: r.appData.toString('latin1') } });
      }
    } catch (err) {
      port.postMessage({ error: String(err) });
    }
  });
}
