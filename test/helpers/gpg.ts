/** Throwaway gpg signing keys for the signing suites (packages, RPMs, Solutions). */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { execDirect } from '../../buildchain/engine/exec/run-command.ts';

/** A throwaway signing key in a GNUPGHOME of the test's own. */
export interface TestKey {
  readonly home: string;
  /** The key's user id, e.g. `Packaging Test <packaging-test@example.invalid>`. */
  readonly keyName: string;
  /** The key's fingerprint: 40 upper-case hex digits. */
  readonly fingerprint: string;
  /** Armored public key file. */
  readonly publicKey: string;
  /** Stops every gpg daemon (gpg-agent...) started for this home; never throws. */
  stop(): Promise<void>;
}

/** What {@link makeGpgKey} generates, and where. */
export interface TestKeyOptions {
  /** User id (default `Packaging Test <packaging-test@example.invalid>`). */
  readonly uid?: string;
  /** gpg's algorithm name (default `rsa2048`, which every rpm reads; `ed25519` is faster). */
  readonly algo?: string;
  /** Passphrase protecting the secret key (default none). */
  readonly passphrase?: string;
  /** GNUPGHOME (default `<dir>/gnupg`); an existing one gets a second key beside its others. */
  readonly home?: string;
  /** File name of the armored public key in `dir` (default `RPM-GPG-KEY-test`). */
  readonly publicKeyName?: string;
}

/**
 * Generates a signing key (no expiry) in `options.home` (created mode 0700) and exports its
 * public key into `dir`. Call `stop()` when done, even on failure, so no gpg-agent is left.
 */
export async function makeGpgKey(dir: string, options: TestKeyOptions = {}): Promise<TestKey> {
  const home = options.home ?? path.join(dir, 'gnupg');
  await mkdir(home, { recursive: true, mode: 0o700 });
  const keyName = options.uid ?? 'Packaging Test <packaging-test@example.invalid>';
  const env = { GNUPGHOME: home };
  const stop = async (): Promise<void> => {
    await execDirect(['gpgconf', '--homedir', home, '--kill', 'all'], { reject: false });
  };
  try {
    const created = await execDirect(
      [
        'gpg',
        '--batch',
        '--status-fd',
        '1',
        '--pinentry-mode',
        'loopback',
        '--passphrase',
        options.passphrase ?? '',
        '--quick-gen-key',
        keyName,
        options.algo ?? 'rsa2048',
        'sign',
        'never',
      ],
      { env },
    );
    const fingerprint = /^\[GNUPG:\] KEY_CREATED \w+ ([A-F0-9]{40})$/m.exec(created.stdout)?.[1];
    if (fingerprint === undefined) throw new Error(`gpg created no key in ${home}`);
    await mkdir(dir, { recursive: true });
    const publicKey = path.join(dir, options.publicKeyName ?? 'RPM-GPG-KEY-test');
    await execDirect(
      ['gpg', '--batch', '--yes', '--armor', '--output', publicKey, '--export', fingerprint],
      { env },
    );
    return { home, keyName, fingerprint, publicKey, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
