/**
 * gpg command lines shared by every signer (repo metadata, the platform's SHA256SUM, a
 * Solution's SHA256SUM). Pure argv builders: running them is the caller's (engine/exec).
 */

/**
 * gpg argv writing an armored detached signature of `file` with the secret key `keyName` to
 * `output` (default `<file>.asc`). Batch mode with loopback pinentry: a key that needs a
 * passphrase fails at once instead of prompting.
 */
export function gpgDetachSignArgs(o: {
  bin: string;
  keyName: string;
  file: string;
  output?: string;
}): string[] {
  return [
    o.bin,
    '--batch',
    '--yes',
    '--pinentry-mode',
    'loopback',
    '--local-user',
    o.keyName,
    '--armor',
    '--detach-sign',
    '--output',
    o.output ?? `${o.file}.asc`,
    '--',
    o.file,
  ];
}
