/**
 * The detached GPG signature of a Solution's checksum file (`SHA256SUM.asc` beside the ISO, as
 * the platform ISO has it): made by `build --sign-key`, checked by `verify --key` and shown by
 * `inspect`. Checks run gpg in a private, temporary GNUPGHOME holding only the key given on the
 * command line, so that the user's keyring and trust settings never decide the outcome.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../../../engine/failures.ts';
import type { Exec } from '../../../engine/exec/run-command.ts';
import { checkRegularFile } from '../../../lib/fs/read-bounded.ts';

/** The signature file beside a checksum file. */
export function signaturePath(sumFile: string): string {
  return `${sumFile}.asc`;
}

/** Largest public key file accepted by `--key` (bytes). */
const MAX_KEY_BYTES = 1024 * 1024;
/** Time limit of one gpg call (ms). */
const GPG_TIMEOUT_MS = 60_000;

/** What gpg said about a signature. */
export interface SignatureInfo {
  /** The `.asc` file. */
  readonly file: string;
  /**
   * `good`: made by the given key over these bytes; `bad`: the bytes changed or the signature
   * is damaged; `unknown-key`: made by a key that was not given (or none given); `expired-key`
   * and `revoked-key`: good but by such a key; `unreadable`: not an OpenPGP signature.
   */
  readonly status: 'good' | 'bad' | 'unknown-key' | 'expired-key' | 'revoked-key' | 'unreadable';
  /** Primary key fingerprint (a good signature) or the issuer's key id/fingerprint. */
  readonly key?: string;
  /** User id of the signer (only known when the key was given). */
  readonly signer?: string;
  /** The signer as the signature itself claims it (an email; not checked without the key). */
  readonly issuer?: string;
  /** When it was made, ISO 8601 UTC. */
  readonly created?: string;
  /** gpg's own last words, for messages. */
  readonly detail: string;
}

/** Options of the gpg runs. */
export interface GpgOptions {
  readonly gpg: string;
  readonly run: Exec;
}

function isoTime(seconds: string | undefined): string | undefined {
  const n = Number(seconds);
  return seconds === undefined || !Number.isFinite(n) || n <= 0
    ? undefined
    : new Date(n * 1000).toISOString().replace('.000Z', 'Z');
}

/** Reads `gpg --status-fd 1 --verify` status lines (doc/DETAILS of GnuPG). */
export function parseVerifyStatus(stdout: string, file: string, detail: string): SignatureInfo {
  let status: SignatureInfo['status'] = 'unreadable';
  let key: string | undefined;
  let signer: string | undefined;
  let created: string | undefined;
  let issuer: string | undefined;
  for (const line of stdout.split('\n')) {
    const m = /^\[GNUPG:\] (\S+) ?(.*)$/.exec(line.trim());
    if (m === null) continue;
    const [, word = '', rest = ''] = m;
    const f = rest.split(' ');
    const userId = f.slice(1).join(' ');
    if (word === 'NEWSIG' && rest !== '') issuer = rest;
    else if (word === 'GOODSIG') [status, key, signer] = ['good', f[0], userId];
    else if (word === 'EXPKEYSIG') [status, key, signer] = ['expired-key', f[0], userId];
    else if (word === 'REVKEYSIG') [status, key, signer] = ['revoked-key', f[0], userId];
    else if (word === 'BADSIG') [status, key, signer] = ['bad', f[0], userId];
    else if (word === 'VALIDSIG') {
      // VALIDSIG <fpr> <date> <timestamp> ... <primary key fpr> (last field)
      key = f[f.length - 1] ?? f[0];
      created = isoTime(f[2]);
    } else if (word === 'ERRSIG' && status === 'unreadable') {
      // ERRSIG <keyid> <pkalgo> <hashalgo> <class> <time> <rc> [<fpr>]; rc 9: no public key
      status = f[5] === '9' ? 'unknown-key' : 'unreadable';
      key = f[6] !== undefined && f[6] !== '-' ? f[6] : f[0];
      created = isoTime(f[4]);
    }
  }
  return {
    file,
    status,
    ...(key !== undefined ? { key } : {}),
    ...(signer !== undefined && signer !== '' ? { signer } : {}),
    ...(issuer !== undefined ? { issuer } : {}),
    ...(created !== undefined ? { created } : {}),
    detail,
  };
}

/** A private GNUPGHOME for one check, removed (with any agent gpg started) afterwards. */
async function withTempHome<T>(o: GpgOptions, work: (home: string) => Promise<T>): Promise<T> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'mk8s-solution-gpg-'));
  try {
    return await work(home);
  } finally {
    const gpgconf = path.join(path.dirname(o.gpg), 'gpgconf');
    await o
      .run([o.gpg.includes('/') ? gpgconf : 'gpgconf', '--homedir', home, '--kill', 'all'], {
        reject: false,
        timeoutMs: GPG_TIMEOUT_MS,
      })
      .catch(() => undefined);
    await rm(home, { recursive: true, force: true });
  }
}

/**
 * Checks that `keyFile` is a readable file of OpenPGP public keys. Throws UsageError (exit 2)
 * naming `flag` otherwise: nothing is checked against a key that is not there.
 */
export async function checkKeyFile(keyFile: string, flag: string, o: GpgOptions): Promise<void> {
  try {
    checkRegularFile(keyFile, { what: `${flag} ${keyFile}`, maxBytes: MAX_KEY_BYTES });
  } catch (err) {
    throw new UsageError(
      'usage',
      err instanceof Error ? err.message : String(err),
      `give the signer's public key as an armored file (gpg --armor --export KEY > key.asc)`,
    );
  }
  await withTempHome(o, async (home) => {
    const r = await importKey(home, keyFile, o);
    if (!/^\[GNUPG:\] IMPORT_OK /m.test(r.stdout)) {
      throw new UsageError(
        'usage',
        `${flag} ${keyFile} holds no OpenPGP public key (${lastWords(r.stderr) || 'gpg imported nothing'})`,
        `export the signer's public key with: gpg --armor --export KEY > key.asc`,
      );
    }
  });
}

function lastWords(stderr: string): string {
  return stderr
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .slice(-2)
    .join(' ')
    .replace(/^gpg: /, '');
}

async function importKey(
  home: string,
  keyFile: string,
  o: GpgOptions,
): Promise<{ stdout: string; stderr: string }> {
  return o.run(
    [o.gpg, '--homedir', home, '--batch', '--status-fd', '1', '--import', '--', keyFile],
    {
      reject: false,
      timeoutMs: GPG_TIMEOUT_MS,
    },
  );
}

/**
 * What the signature `sigFile` says about `dataFile`, checked against the public keys of
 * `keyFile` only (none: the signer is reported as an unknown key).
 */
export async function checkSignature(
  sigFile: string,
  dataFile: string,
  keyFile: string | undefined,
  o: GpgOptions,
): Promise<SignatureInfo> {
  return withTempHome(o, async (home) => {
    if (keyFile !== undefined) await importKey(home, keyFile, o);
    const r = await o.run(
      [
        o.gpg,
        '--homedir',
        home,
        '--batch',
        '--status-fd',
        '1',
        '--trust-model',
        'always',
        '--verify',
        '--',
        sigFile,
        dataFile,
      ],
      { reject: false, timeoutMs: GPG_TIMEOUT_MS },
    );
    return parseVerifyStatus(r.stdout, sigFile, lastWords(r.stderr));
  });
}

/**
 * {@link checkSignature} for a report that does not depend on it (no key given): a gpg that
 * cannot run is described instead of failing the whole command.
 */
export async function describeSignatureOf(
  sigFile: string,
  dataFile: string,
  o: GpgOptions,
): Promise<SignatureInfo> {
  try {
    return await checkSignature(sigFile, dataFile, undefined, o);
  } catch (err) {
    return {
      file: sigFile,
      status: 'unreadable',
      detail: `gpg could not read it: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
}

/**
 * The signature beside a checksum file, as `verify` and `inspect` read it: undefined when there
 * is none; checked against the public keys of `keyFile` when given, else only described.
 */
export async function readSignatureOf(
  sumFile: string,
  keyFile: string | undefined,
  o: GpgOptions,
): Promise<SignatureInfo | undefined> {
  const sig = signaturePath(sumFile);
  if ((await stat(sig).catch(() => undefined)) === undefined) return undefined;
  return keyFile === undefined
    ? describeSignatureOf(sig, sumFile, o)
    : checkSignature(sig, sumFile, keyFile, o);
}

/**
 * The fingerprint of the secret key `key` (a user id, key id or fingerprint) in the keyring of
 * `env.GNUPGHOME` (default ~/.gnupg). Throws UsageError (exit 2) when there is none, or more
 * than one (a signature must name its signer without doubt).
 */
export async function secretKeyFingerprint(
  key: string,
  o: GpgOptions & { readonly gnupgHome?: string },
): Promise<string> {
  const home = o.gnupgHome ?? '~/.gnupg';
  const fix = `list your secret keys with \`gpg --list-secret-keys\`${o.gnupgHome === undefined ? '' : ` (GNUPGHOME=${o.gnupgHome})`} and pass one fingerprint, or set GNUPGHOME to the keyring holding it`;
  if (key.trim() === '' || key.startsWith('-'))
    throw new UsageError('usage', `--sign-key ${JSON.stringify(key)} is not a key name`, fix);
  const r = await o.run([o.gpg, '--batch', '--with-colons', '--list-secret-keys', '--', key], {
    reject: false,
    timeoutMs: GPG_TIMEOUT_MS,
    ...(o.gnupgHome === undefined ? {} : { env: { GNUPGHOME: o.gnupgHome } }),
  });
  const fingerprints: string[] = [];
  let inSec = false;
  for (const line of r.stdout.split('\n')) {
    const f = line.split(':');
    if (f[0] === 'sec') inSec = true;
    else if (f[0] === 'ssb') inSec = false;
    else if (f[0] === 'fpr' && inSec) {
      fingerprints.push(f[9] ?? '');
      inSec = false;
    }
  }
  if (r.exitCode !== 0 || fingerprints.length === 0)
    throw new UsageError('usage', `--sign-key ${key}: no such secret key in ${home}`, fix);
  if (fingerprints.length > 1)
    throw new UsageError(
      'usage',
      `--sign-key ${key} matches ${fingerprints.length} secret keys in ${home} (${fingerprints.join(', ')})`,
      'pass the full fingerprint of the key to sign with',
    );
  return fingerprints[0] ?? '';
}
