/**
 * The racy margin of file and directory timestamps. A file's mtime and ctime come from a
 * coarse clock (a kernel tick), so a second change within the same tick can leave them as they
 * were: what was read of a path (a file's hash, a directory's listing) is trusted on its stat
 * only when that stat's times were older than this margin at a clock reading taken *before*
 * the stat (as git does with its index). Younger ones are read again when next needed.
 */
export const RACY_MS = 30;
