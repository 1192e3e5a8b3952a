/**
 * GPG: signing built RPMs (rpmsign) and repodata (detached armored signature), and checking
 * downloaded RPMs against a repo's keys in a private rpm database.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/**
 * Absolute path of a command found on PATH (rpmsign's `%__gpg` must be a path: Debian's default
 * points to a missing `gpg2`). Returns `bin` unchanged when it is a path or not found.
 */
export function resolveOnPath(bin: string, envPath = process.env.PATH ?? ''): string {
  if (bin.includes('/')) return bin;
  for (const dir of envPath.split(':').filter((d) => d !== '')) {
    const candidate = path.join(dir, bin);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return bin;
}

/** rpmsign argv adding a signature with `keyName` (a gpg user id or fingerprint). */
export function rpmsignArgs(o: {
  bin: string;
  gpgPath: string;
  keyName: string;
  files: readonly string[];
}): string[] {
  return [o.bin, '--define', `__gpg ${o.gpgPath}`, '--define', `_gpg_name ${o.keyName}`, '--addsign', ...o.files];
}

/** gpg argv writing `<file>.asc`, an armored detached signature. */
export function gpgDetachSignArgs(o: { bin: string; keyName: string; file: string }): string[] {
  return [o.bin, '--batch', '--yes', '--pinentry-mode', 'loopback', '--local-user', o.keyName, '--armor', '--detach-sign', '--output', `${o.file}.asc`, o.file];
}

/** gpg argv exporting the public key of `keyName`, armored, to `out`. */
export function gpgExportArgs(o: { bin: string; keyName: string; out: string }): string[] {
  return [o.bin, '--batch', '--yes', '--armor', '--output', o.out, '--export', o.keyName];
}

/** Signature status of one RPM, from `rpm -K` / `rpmkeys --checksig`. */
export type SignatureStatus = 'signed' | 'unsigned' | 'bad-signature' | 'bad-digest';

/**
 * Parses `rpm --dbpath D -K files...` output (`<file>: digests signatures OK`, `<file>: digests
 * OK` for an unsigned RPM, `... SIGNATURES NOT OK` for an unknown key or a bad signature,
 * `DIGESTS NOT OK` for a corrupted file).
 */
export function parseChecksig(output: string): Map<string, SignatureStatus> {
  const out = new Map<string, SignatureStatus>();
  for (const line of output.split('\n')) {
    const i = line.lastIndexOf(': ');
    if (i <= 0) continue;
    const file = line.slice(0, i);
    const status = line.slice(i + 2).trim();
    // rpm writes what failed in capitals: `DIGESTS` and/or `SIGNATURES` ... `NOT OK`.
    if (/\bDIGESTS\b/.test(status)) out.set(file, 'bad-digest');
    else if (/\bSIGNATURES\b/.test(status)) out.set(file, 'bad-signature');
    else if (/^digests signatures OK$/.test(status)) out.set(file, 'signed');
    else if (/^digests OK$/.test(status)) out.set(file, 'unsigned');
  }
  return out;
}
