/** createrepo_c argv producing deterministic repodata. Pure. */

/** Options for {@link createrepoArgs}. */
export interface CreaterepoOptions {
  readonly bin: string;
  readonly dir: string;
  /** Revision and timestamp of every repodata file (SOURCE_DATE_EPOCH, seconds). */
  readonly epoch: number;
  /** Worker threads (default: createrepo_c's). */
  readonly workers?: number;
}

/**
 * `createrepo_c --revision E --set-timestamp-to-revision DIR`: with fixed RPM mtimes, the same
 * RPMs always give byte-identical repodata. The sqlite databases are kept (yum on EL7 uses them).
 */
export function createrepoArgs(o: CreaterepoOptions): string[] {
  return [
    o.bin,
    '--quiet',
    '--revision',
    String(o.epoch),
    '--set-timestamp-to-revision',
    ...(o.workers === undefined ? [] : ['--workers', String(o.workers)]),
    o.dir,
  ];
}
