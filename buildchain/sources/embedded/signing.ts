/**
 * The embedded mirror's own signing key: stand-in RPMs are signed with it and it is served at
 * every upstream repo GPG key URL, so a build that checks signatures (as it must for upstream
 * repos) passes against the stand-ins. The key lives in a private GNUPGHOME under BUILD_ROOT.
 *
 * Reproducible across clones and machines: the key is a fixed throwaway key committed beside
 * this file (it signs only stand-in content, never a release), and gpg runs with a frozen clock
 * so that its RSA signatures, hence the signed RPMs, are byte-identical every time.
 */
import { access, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execDirect, execDirectWith } from '../../engine/exec/run-command.ts';
import { writeFileAtomic } from '../../lib/fs/atomic-write.ts';
import { buildchainAsset } from '../../lib/package-root.ts';
import { requireRpmMacroValue } from '../../lib/text/quote.ts';

export const STAND_IN_KEY_UID = 'MetalK8s buildchain stand-in <stand-in@metalk8s.invalid>';

/**
 * The committed throwaway secret key (no passphrase) that signs stand-in RPMs (its copy under
 * dist/ when running compiled: a bundle chunk's own directory is not this one's).
 */
export const STAND_IN_KEY_FILE = buildchainAsset('sources/embedded/stand-in-signing-key.asc');

/** gpg.conf of the private home: every signature is dated 2023-11-14T22:13:20Z. */
const FROZEN_CLOCK_CONF = 'faked-system-time 20231114T221320!\n';

/** Options for {@link ensureSigningKey} and {@link signRpms}. */
export interface SigningOptions {
  /** Private GNUPGHOME (created 0700). */
  readonly gnupgHome: string;
  readonly gpgBin?: string;
  readonly rpmsignBin?: string;
  readonly signal?: AbortSignal;
}

function gpgEnv(opts: SigningOptions): Record<string, string> {
  return { GNUPGHOME: opts.gnupgHome };
}

/** Creates the key once; returns the armored public key (cached in `<gnupgHome>/public.asc`). */
export async function ensureSigningKey(opts: SigningOptions): Promise<string> {
  const pub = path.join(opts.gnupgHome, 'public.asc');
  try {
    await access(pub);
    return await readFile(pub, 'utf8');
  } catch {
    // not made yet
  }
  // public.asc is written last: without it, a previous attempt was interrupted; start over so
  // that the home never holds two keys with the same user id.
  await rm(opts.gnupgHome, { recursive: true, force: true });
  await mkdir(opts.gnupgHome, { recursive: true, mode: 0o700 });
  const gpg = opts.gpgBin ?? 'gpg';
  const common = { env: gpgEnv(opts) };
  const exec = execDirectWith(opts.signal);
  try {
    await writeFile(path.join(opts.gnupgHome, 'gpg.conf'), FROZEN_CLOCK_CONF);
    await exec([gpg, '--batch', '--import', STAND_IN_KEY_FILE], common);
    const { stdout } = await exec(
      [gpg, '--batch', '--armor', '--export', STAND_IN_KEY_UID],
      common,
    );
    await writeFileAtomic(pub, stdout + '\n');
    return stdout + '\n';
  } finally {
    await stopAgent(opts);
  }
}

/** Signs RPM files in place (one rpmsign call). */
export async function signRpms(files: readonly string[], opts: SigningOptions): Promise<void> {
  if (files.length === 0) return;
  const gpg = opts.gpgBin ?? 'gpg';
  const exec = execDirectWith(opts.signal);
  const gpgPath = gpg.includes('/')
    ? gpg
    : (await exec(['sh', '-c', 'command -v "$1"', 'sh', gpg])).stdout.trim();
  // A macro body: rpm expands '%' in it (rpm shell-escapes the expanded path itself).
  requireRpmMacroValue(
    '__gpg',
    gpgPath,
    'GPG_BIN',
    'set GPG_BIN to a path without % or control characters',
  );
  try {
    await exec(
      [
        opts.rpmsignBin ?? 'rpmsign',
        '--define',
        `__gpg ${gpgPath}`,
        '--define',
        `_gpg_name ${STAND_IN_KEY_UID}`,
        '--addsign',
        ...files,
      ],
      { env: gpgEnv(opts) },
    );
  } finally {
    await stopAgent(opts);
  }
}

/** gpg leaves an agent running per GNUPGHOME: stop ours. */
async function stopAgent(opts: SigningOptions): Promise<void> {
  const gpg = opts.gpgBin ?? 'gpg';
  const gpgconf = gpg.includes('/') ? path.join(path.dirname(gpg), 'gpgconf') : 'gpgconf';
  // Best effort, like the agent itself: a missing gpgconf or a failed kill is no error.
  await execDirect([gpgconf, '--homedir', opts.gnupgHome, '--kill', 'gpg-agent'], {
    reject: false,
  }).catch(() => undefined);
}
