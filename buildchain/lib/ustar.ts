/**
 * The 512-byte ustar header of one tar entry, as the buildchain's deterministic archives write
 * it (the stand-in layers, the build cache's layers): owner 0:0, no user or group name, mtime
 * 0, so the same entry gives the same bytes on every machine.
 */

/** Size of a tar block (headers, and the padding of contents). */
export const TAR_BLOCK = 512;

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

/**
 * The header of an entry `name` (at most 100 bytes: longer names need a PAX record before it)
 * of `size` content bytes. `type` is the ustar type flag (`0` file, `5` directory, `2` symlink,
 * `x` PAX extended header), `link` a symlink's target.
 */
export function ustarHeader(
  name: string,
  size: number,
  { type = '0', mode = 0o644, link = '' }: { type?: string; mode?: number; link?: string } = {},
): Buffer {
  const b = Buffer.alloc(TAR_BLOCK);
  b.write(name, 0, 100, 'utf8');
  b.write(octal(mode, 8), 100, 'ascii');
  b.write(octal(0, 8), 108, 'ascii');
  b.write(octal(0, 8), 116, 'ascii');
  b.write(octal(size, 12), 124, 'ascii');
  b.write(octal(0, 12), 136, 'ascii');
  b.write('        ', 148, 'ascii');
  b.write(type, 156, 'ascii');
  b.write(link, 157, 100, 'utf8');
  b.write('ustar\0', 257, 'ascii');
  b.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(octal(sum, 7) + ' ', 148, 'ascii');
  return b;
}
