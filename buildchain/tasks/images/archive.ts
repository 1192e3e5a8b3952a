/**
 * Archive images (`ship: archive`, e.g. pause and nginx that Salt loads): a docker-archive tar
 * written by skopeo from a `dir:` layout, to a temp name renamed into place.
 */
import { produceFileAtomic } from '../../lib/fs/atomic-write.ts';
import { execDirect, type Exec } from '../../engine/exec/run-command.ts';

/** Options for {@link exportArchive}. */
export interface ExportArchiveOptions {
  /** skopeo `dir:` layout of the image. */
  readonly layoutDir: string;
  /** Absolute path of the tar to write. */
  readonly tarPath: string;
  /** Name recorded in the tar, e.g. `docker.io/library/nginx:1.15.8`. */
  readonly refName: string;
  readonly skopeo?: string;
  /** The command runner (default {@link execDirect}). */
  readonly run?: Exec;
}

/** argv writing a docker-archive from a dir: layout (pure). */
export function archiveArgv(skopeo: string, layoutDir: string, tmpTar: string, refName: string): string[] {
  return [skopeo, 'copy', '-q', `dir:${layoutDir}`, `docker-archive:${tmpTar}:${refName}`];
}

/** Writes the archive; nothing is left at `tarPath` on failure. */
export async function exportArchive(o: ExportArchiveOptions): Promise<void> {
  await produceFileAtomic(
    o.tarPath,
    async (tmp) => {
      await (o.run ?? execDirect)(archiveArgv(o.skopeo ?? 'skopeo', o.layoutDir, tmp, o.refName));
    },
    { mkdir: true },
  );
}
