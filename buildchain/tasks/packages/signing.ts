/**
 * GPG: signing built RPMs (rpmsign) and repodata (detached armored signature), and checking
 * downloaded RPMs against a repo's keys in a private rpm database.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import type { Exec } from '../../engine/exec/run-command.ts';

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

/**
 * A gpg companion tool (`gpgconf`, `gpg-connect-agent`) next to `gpgBin` when it is there (a
 * GPG_BIN override points to another GnuPG install), else `name` from PATH.
 */
export function gpgSiblingTool(
  gpgBin: string,
  name: string,
  envPath = process.env.PATH ?? '',
): string {
  const gpg = resolveOnPath(gpgBin, envPath);
  if (!gpg.includes('/')) return name;
  const candidate = path.join(path.dirname(gpg), name);
  try {
    accessSync(candidate, constants.X_OK);
    return candidate;
  } catch {
    return name;
  }
}

/**
 * argv asking the home's gpg-agent for its pid, without starting one. It exits 0 either way
 * (`no gpg-agent running` goes to stderr): read the answer with {@link isGpgAgentRunning}.
 */
export function gpgAgentPidArgs(o: { connectAgentBin: string; gnupgHome?: string }): string[] {
  return [
    o.connectAgentBin,
    ...(o.gnupgHome === undefined ? [] : ['--homedir', o.gnupgHome]),
    '--no-autostart',
    'GETINFO pid',
    '/bye',
  ];
}

/** True when the stdout of {@link gpgAgentPidArgs} holds a pid (`D 1234`). */
export function isGpgAgentRunning(stdout: string): boolean {
  return /^D \d+$/m.test(stdout);
}

/** argv stopping the gpg-agent of the home. */
export function gpgKillAgentArgs(o: { gpgconfBin: string; gnupgHome?: string }): string[] {
  return [
    o.gpgconfBin,
    ...(o.gnupgHome === undefined ? [] : ['--homedir', o.gnupgHome]),
    '--kill',
    'gpg-agent',
  ];
}

/**
 * Runs `work` (which signs with gpg) and then stops the gpg-agent that gpg started for the home,
 * also on failure: a build must not leave a daemon behind. An agent that was already running
 * (the user's, maybe holding a cached passphrase) is left alone.
 */
export async function withGpgAgentCleanup<T>(
  exec: Exec,
  o: { gpgBin?: string; gnupgHome?: string },
  work: () => Promise<T>,
): Promise<T> {
  const gpgBin = o.gpgBin ?? 'gpg';
  const env: Record<string, string> = o.gnupgHome === undefined ? {} : { GNUPGHOME: o.gnupgHome };
  const home = o.gnupgHome === undefined ? {} : { gnupgHome: o.gnupgHome };
  const before = await exec(
    gpgAgentPidArgs({ connectAgentBin: gpgSiblingTool(gpgBin, 'gpg-connect-agent'), ...home }),
    { env, reject: false },
  ).catch(() => ({ stdout: '' }));
  try {
    return await work();
  } finally {
    if (!isGpgAgentRunning(before.stdout)) {
      await exec(gpgKillAgentArgs({ gpgconfBin: gpgSiblingTool(gpgBin, 'gpgconf'), ...home }), {
        env,
        reject: false,
      }).catch(() => undefined);
    }
  }
}

/** rpmsign argv adding a signature with `keyName` (a gpg user id or fingerprint). */
export function rpmsignArgs(o: {
  bin: string;
  gpgPath: string;
  keyName: string;
  files: readonly string[];
}): string[] {
  return [
    o.bin,
    '--define',
    `__gpg ${o.gpgPath}`,
    '--define',
    `_gpg_name ${o.keyName}`,
    '--addsign',
    ...o.files,
  ];
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
