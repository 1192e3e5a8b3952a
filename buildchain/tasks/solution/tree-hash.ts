/** Content hash of a directory tree (paths, modes, contents, symlink targets). */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';

/** sha256 hex over every entry under `dir` in sorted order; `skip` names top-level entries to ignore. */
export async function hashTree(
  dir: string,
  skip: ReadonlySet<string> = new Set(),
): Promise<string> {
  const h = createHash('sha256');
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(path.join(dir, rel))).sort();
    for (const name of names) {
      if (rel === '' && skip.has(name)) continue;
      const r = rel === '' ? name : `${rel}/${name}`;
      const abs = path.join(dir, r);
      const st = await lstat(abs);
      if (st.isSymbolicLink()) {
        h.update(`L ${r} ${await readlink(abs)}\n`);
      } else if (st.isDirectory()) {
        h.update(`D ${r} ${(st.mode & 0o777).toString(8)}\n`);
        await walk(r);
      } else if (st.isFile()) {
        h.update(`F ${r} ${(st.mode & 0o777).toString(8)} ${st.size}\n`);
        h.update(await readFile(abs));
      }
    }
  };
  await walk('');
  return h.digest('hex');
}
