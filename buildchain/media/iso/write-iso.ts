/**
 * Writes an ISO in one streaming pass: the mkisofs-compatible writer prints the image on
 * stdout; this process writes it to a temporary file while computing the implantisomd5 sum,
 * then implants it, hashes the final bytes (sha256, from the page cache) and renames. A failed
 * or interrupted run leaves no ISO and no SHA256SUM behind.
 *
 * Reused by the Solution ISO builder: nothing here is MetalK8s-specific.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, open, rename, rm, writeFile } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { startStreamingCommand } from '../../engine/exec/stream-command.ts';
import { TaskError } from '../../engine/task.ts';
import { tempPathFor } from '../../lib/fs/atomic-write.ts';
import { sha256File } from '../../lib/fs/hash.ts';
import { IsoMd5Accumulator, type IsoMd5Result } from './iso-md5.ts';
import { mkisofsArgs } from './mkisofs-args.ts';

/** Options for {@link writeIso}. */
export interface WriteIsoOptions {
  /** Directory that becomes `/` of the ISO. */
  readonly root: string;
  /** Final ISO path. */
  readonly output: string;
  /** `<PROJECT_NAME> <VERSION>`; at most 32 bytes. */
  readonly volumeId: string;
  /** Seconds since the epoch for every date in the image (xorriso only). */
  readonly epoch?: number;
  /** Writer argv prefix; default `['xorriso', '-as', 'mkisofs']`. */
  readonly mkisofs?: readonly string[];
  /** Implant the isomd5sum checksum (default true). */
  readonly implantMd5?: boolean;
  /** Checksum file written beside the ISO (default `<dir of output>/SHA256SUM`); null: none. */
  readonly checksumFile?: string | null;
  readonly signal?: AbortSignal;
  /** Receives the writer's stderr lines. */
  readonly onLog?: (line: string) => void;
}

/** What {@link writeIso} produced. */
export interface WriteIsoResult {
  readonly output: string;
  /** Bytes. */
  readonly size: number;
  /** Hex sha256 of the final ISO (after the md5 implant). */
  readonly sha256: string;
  /** Hex md5 implanted (undefined when implantMd5 is false). */
  readonly implantedMd5: string | undefined;
  readonly checksumFile: string | undefined;
  readonly argv: readonly string[];
}

/** One `sha256sum`-compatible line: `<hex>  <basename>\n`. */
export function sha256sumLine(hex: string, file: string): string {
  return `${hex}  ${path.basename(file)}\n`;
}

interface StreamResult {
  readonly size: number;
  readonly md5: IsoMd5Result | undefined;
  /** sha256 of the streamed bytes, when they are final (no md5 implant afterwards). */
  readonly sha256: string | undefined;
}

/** Computes the implantisomd5 sum of a file being written, off the writing thread. */
interface Md5Hasher {
  /** The first `bytes` bytes of the file are final. */
  written(bytes: number): void;
  finish(): Promise<IsoMd5Result>;
  stop(): void;
}

/**
 * Runs the hash in a worker thread (compiled, or with the tsx loader passed on), so that it
 * overlaps the writer; falls back to hashing in this thread when the worker cannot start.
 */
function startMd5Hasher(file: string): Md5Hasher {
  let worker: Worker;
  try {
    const compiled = /\.c?js$/.exec(import.meta.url)?.[0];
    if (compiled !== undefined) {
      // Compiled (dist/, see bin/launch.js): the worker is JavaScript too, bundled
      // (dist/bundle/iso-md5-worker.cjs beside main.cjs) or module by module.
      worker = new Worker(new URL(`./iso-md5-worker${compiled}`, import.meta.url), {
        workerData: { file },
      });
    } else {
      // Node 20 cannot load .ts in a worker by itself: register tsx's loader there first.
      const tsxApi = pathToFileURL(
        createRequire(import.meta.url)
          .resolve('tsx/esm/api')
          .replace(/\.cjs$/, '.mjs'),
      ).href;
      const script = new URL('./iso-md5-worker.ts', import.meta.url).href;
      const code = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(script)}); })`;
      worker = new Worker(code, { eval: true, workerData: { file } });
    }
  } catch {
    return inlineMd5Hasher(file);
  }
  const result = new Promise<IsoMd5Result>((resolve, reject) => {
    worker.on(
      'message',
      (m: { result?: Omit<IsoMd5Result, 'appData'> & { appData: string }; error?: string }) => {
        if (m.error !== undefined) reject(new Error(m.error));
        else if (m.result !== undefined)
          resolve({ ...m.result, appData: Buffer.from(m.result.appData, 'latin1') });
      },
    );
    worker.once('error', reject);
    worker.once('exit', () => {
      reject(new Error('md5 worker exited early'));
    });
  });
  result.catch(() => undefined);
  return {
    written: (bytes) => {
      worker.postMessage({ upTo: bytes });
    },
    finish: async () => {
      worker.postMessage({ end: true });
      // A worker that could not start (no tsx loader, ...) costs a read pass, not the build.
      return result.catch(() => inlineMd5Hasher(file).finish());
    },
    stop: () => void worker.terminate(),
  };
}

function inlineMd5Hasher(file: string): Md5Hasher {
  return {
    written: () => undefined,
    finish: async () => {
      const acc = new IsoMd5Accumulator();
      for await (const chunk of createReadStream(file, { highWaterMark: 4 << 20 }))
        acc.update(chunk as Buffer);
      return acc.finish();
    },
    stop: () => undefined,
  };
}

async function streamWriter(
  argv: readonly string[],
  tmp: string,
  implant: boolean,
  opts: WriteIsoOptions,
): Promise<StreamResult> {
  const bin = argv[0];
  if (bin === undefined) throw new TaskError('internal-error', 'empty mkisofs argv');
  const hasher = implant ? startMd5Hasher(tmp) : undefined;
  const child = startStreamingCommand(argv, {
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    ...(opts.onLog === undefined ? {} : { onStderrLine: opts.onLog }),
  });
  // The hash worker reads what is already on disk: tell it how far the file is written.
  const out = createWriteStream(tmp, { highWaterMark: 8 << 20 });
  const tick = setInterval(() => hasher?.written(out.bytesWritten), 20);
  try {
    // Without an implant the streamed bytes are final: hash them on the way (one pass).
    const sha = implant ? undefined : createHash('sha256');
    const tap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        sha?.update(chunk);
        done(null, chunk);
      },
    });
    await pipeline(child.stdout, tap, out);
    clearInterval(tick);
    const {
      code,
      signal: sig,
      timedOut,
    } = await child.exited.catch((err: unknown) => {
      throw new TaskError('tool-not-found', `cannot run ${bin}: ${String(err)}`, {
        hint: 'Install xorriso (npm run setup) or set MKISOFS_BIN to a mkisofs-compatible writer.',
      });
    });
    if (opts.signal?.aborted === true) throw new TaskError('aborted', 'ISO writing interrupted');
    if (timedOut) {
      throw new TaskError(
        'command-failed',
        `${path.basename(bin)} timed out writing ${opts.output}`,
        {
          argv,
          stderrTail: child.stderrTail.slice(-20),
          hint: 'raise COMMAND_TIMEOUT in .env (seconds; 0 = no limit) if the writer legitimately needs longer',
        },
      );
    }
    if (code !== 0) {
      throw new TaskError('command-failed', `${path.basename(bin)} failed writing ${opts.output}`, {
        argv,
        exitCode: code ?? undefined,
        signalName: sig ?? undefined,
        stderrTail: child.stderrTail.slice(-20),
      });
    }
    const size = out.bytesWritten;
    hasher?.written(size);
    const md5 = await hasher?.finish();
    if (md5 !== undefined) await implantAppData(tmp, md5, opts.output);
    return { size, md5, sha256: sha?.digest('hex') };
  } finally {
    clearInterval(tick);
    child.stop();
    hasher?.stop();
  }
}

/** Writes the md5 into the application area, which the writer must have left blank. */
async function implantAppData(file: string, md5: IsoMd5Result, output: string): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    const current = Buffer.alloc(md5.appData.length);
    await fh.read(current, 0, current.length, md5.appDataOffset);
    if (current.some((b) => b !== 0x20)) {
      throw new TaskError(
        'invalid-input',
        `the writer used the ISO application area of ${output}`,
        {
          hint: 'The md5 cannot be implanted: use xorriso, or a writer leaving the application area blank.',
        },
      );
    }
    await fh.write(md5.appData, 0, md5.appData.length, md5.appDataOffset);
  } finally {
    await fh.close();
  }
}

/** Mode of the ISO and its SHA256SUM, whatever the umask. */
const OUTPUT_MODE = 0o644;

/**
 * Writes the ISO of `root` to `output` (plus SHA256SUM beside it), all or nothing.
 * Throws TaskError: `invalid-input` (volume id), `command-failed`, `tool-not-found`, `aborted`.
 */
export async function writeIso(opts: WriteIsoOptions): Promise<WriteIsoResult> {
  const prefix = opts.mkisofs ?? ['xorriso', '-as', 'mkisofs'];
  const argv = mkisofsArgs({
    prefix,
    root: opts.root,
    volumeId: opts.volumeId,
    epoch: opts.epoch,
    output: '-',
  });
  const implant = opts.implantMd5 ?? true;
  // Temp names carry our pid: a build killed here leaves files the next build removes.
  const tmp = tempPathFor(opts.output);
  const checksumFile =
    opts.checksumFile === null
      ? undefined
      : (opts.checksumFile ?? path.join(path.dirname(opts.output), 'SHA256SUM'));
  const tmpSum = checksumFile === undefined ? undefined : tempPathFor(checksumFile);
  try {
    const streamed = await streamWriter(argv, tmp, implant, opts);
    const { size, md5 } = streamed;
    const sha256 = streamed.sha256 ?? (await sha256File(tmp, opts.signal));
    if (tmpSum !== undefined) {
      await writeFile(tmpSum, sha256sumLine(sha256, opts.output));
      await chmod(tmpSum, OUTPUT_MODE);
    }
    await chmod(tmp, OUTPUT_MODE);
    await rename(tmp, opts.output);
    if (tmpSum !== undefined && checksumFile !== undefined) await rename(tmpSum, checksumFile);
    return { output: opts.output, size, sha256, implantedMd5: md5?.md5, checksumFile, argv };
  } catch (err) {
    await rm(tmp, { force: true });
    if (tmpSum !== undefined) await rm(tmpSum, { force: true });
    if (err instanceof TaskError) throw err;
    throw new TaskError('command-failed', `writing ${opts.output} failed: ${String(err)}`, {
      argv,
    });
  }
}
