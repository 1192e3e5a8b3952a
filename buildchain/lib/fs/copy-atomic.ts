/** Small file helpers: outputs are written to a temp name then renamed (never half-written). */
import { chmod, copyFile, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Writes `data` to `dest` atomically, with `mode` (default 0644). */
export async function writeFileAtomic(
  dest: string,
  data: string | Buffer,
  mode = 0o644,
): Promise<void> {
  await mkdir(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.tmp-${process.pid}`;
  try {
    await writeFile(tmp, data);
    await chmod(tmp, mode);
    await rename(tmp, dest);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Copies `src` to `dest` atomically, keeping the permission bits. */
export async function copyFileAtomic(src: string, dest: string): Promise<void> {
  await mkdir(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.tmp-${process.pid}`;
  try {
    await copyFile(src, tmp);
    await chmod(tmp, (await stat(src)).mode & 0o777);
    await rename(tmp, dest);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Mode bits of a file (0644 when unreadable). */
export async function modeOf(file: string): Promise<number> {
  return stat(file).then(
    (s) => s.mode & 0o777,
    () => 0o644,
  );
}
