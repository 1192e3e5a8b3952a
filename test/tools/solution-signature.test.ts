/**
 * Signed Solutions: `build --sign-key` writes SHA256SUM.asc (a detached gpg signature of the
 * checksum file), `verify --key` checks it and `inspect` shows the signer. Keys live in a
 * temporary GNUPGHOME (generated here, no passphrase); every gpg-agent is stopped afterwards.
 */
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../buildchain/engine/failures.ts';
import { buildSolution } from '../../buildchain/tasks/solution/build/build.ts';
import { parseVerifyStatus } from '../../buildchain/tasks/solution/build/signature.ts';
import {
  describeSignature,
  inspectSolutionIso,
} from '../../buildchain/tasks/solution/verify/inspect.ts';
import { verifySolutionIso } from '../../buildchain/tasks/solution/verify/verify.ts';
import { makeGpgKey, type TestKey } from '../helpers/gpg.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { runSolutionInProcess } from '../helpers/cli-in-process.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const EXAMPLE = path.resolve(import.meta.dirname, '..', '..', 'examples', 'solution-example');
const missing = missingTools('buildah', 'skopeo', 'xorriso', 'isoinfo', 'gpg', 'busybox');
const SIGNER = 'Solution Signer <signer@example.invalid>';
const OTHER = 'Someone Else <other@example.invalid>';

function codes(problems: readonly { code: string; severity: string }[]): string[] {
  return problems.map((p) => `${p.severity}:${p.code}`);
}

describe.skipIf(missing.length > 0)('signed Solution ISO', () => {
  let tmp: TempDir;
  let home: string;
  let otherHome: string;
  let pub: string;
  let otherPub: string;
  let fingerprint: string;
  let iso: string;
  /** Every key made, stopped in afterAll. */
  const keys: TestKey[] = [];

  /** A passphrase-less ed25519 key `uid`, in `home` if given (else its own under `name`). */
  async function key(name: string, uid: string, more: { home?: string; passphrase?: string } = {}) {
    const k = await makeGpgKey(path.join(tmp.path, name), {
      uid,
      algo: 'ed25519',
      publicKeyName: `${name}.asc`,
      ...more,
    });
    keys.push(k);
    return k;
  }

  /** A copy of the signed ISO, SHA256SUM and SHA256SUM.asc in a directory of its own. */
  async function copySet(name: string): Promise<string> {
    const dir = path.join(tmp.path, name);
    await mkdir(dir);
    for (const f of ['ex.iso', 'SHA256SUM', 'SHA256SUM.asc'])
      await copyFile(path.join(path.dirname(iso), f), path.join(dir, f));
    return path.join(dir, 'ex.iso');
  }

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-solution-sign-');
    const signer = await key('signer', SIGNER);
    const other = await key('other', OTHER);
    ({ home, fingerprint, publicKey: pub } = signer);
    ({ home: otherHome, publicKey: otherPub } = other);
    iso = path.join(tmp.path, 'out', 'ex.iso');
    await mkdir(path.dirname(iso));
    await buildSolution({
      dir: EXAMPLE,
      output: iso,
      workDir: path.join(tmp.path, 'work'),
      sourceDateEpoch: 1700000000,
      allowHostFiles: true,
      signKey: 'signer@example.invalid',
      gnupgHome: home,
    });
  });

  afterAll(async () => {
    for (const k of keys) await k.stop();
    await tmp.cleanup();
  });

  it('writes SHA256SUM.asc, a signature of SHA256SUM by the key (checked by gpg itself)', async () => {
    expect((await readdir(path.dirname(iso))).sort()).toEqual([
      'SHA256SUM',
      'SHA256SUM.asc',
      'ex.iso',
    ]);
    const asc = await readFile(path.join(path.dirname(iso), 'SHA256SUM.asc'), 'utf8');
    expect(asc).toMatch(/^-----BEGIN PGP SIGNATURE-----/);
    // Independent check: gpg with the signer's keyring.
    const status = execFileSync(
      'gpg',
      [
        '--homedir',
        home,
        '--batch',
        '--status-fd',
        '1',
        '--verify',
        `${path.dirname(iso)}/SHA256SUM.asc`,
        `${path.dirname(iso)}/SHA256SUM`,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
    expect(status).toContain(`VALIDSIG ${fingerprint}`);
  });

  it('round trip: verify --key passes and names the signer; inspect shows who signed', async () => {
    const r = await verifySolutionIso(iso, { key: pub });
    expect(r.problems).toEqual([]);
    expect(r.signature).toMatchObject({ status: 'good', signer: SIGNER, key: fingerprint });
    const j = await runSolutionInProcess(['verify', iso, '--key', pub, '--json']);
    expect(JSON.parse(j.out)).toMatchObject({
      ok: true,
      problems: [],
      signature: { status: 'good', signer: SIGNER, key: fingerprint },
    });
    const c = await runSolutionInProcess(['verify', iso, '--key', pub]);
    expect(c.code).toBe(0);
    expect(c.err).toContain(`OK (SHA256SUM signed by ${SIGNER}, key ${fingerprint})`);
    const withKey = await inspectSolutionIso(iso, { key: pub });
    expect(describeSignature(withKey.signature)).toMatch(
      new RegExp(`^${SIGNER} key ${fingerprint}, \\d{4}-.*Z \\(good signature\\)$`),
    );
    // Without the key: the signer's key is still named, marked as not checked.
    const c2 = await runSolutionInProcess(['inspect', iso]);
    expect(c2.code).toBe(0);
    expect(c2.out).toMatch(
      new RegExp(`Signed by: +unknown signer key ${fingerprint}.*not checked: pass --key`),
    );
  });

  it('verify without --key warns that the signature was not checked', async () => {
    const r = await verifySolutionIso(iso);
    expect(codes(r.problems)).toEqual(['warning:signature-unchecked']);
  });

  it('without --key, a gpg that cannot run only makes the signature unchecked', async () => {
    const r = await verifySolutionIso(iso, { gpg: path.join(tmp.path, 'no-gpg') });
    expect(codes(r.problems)).toEqual(['warning:signature-unchecked']);
    expect(r.problems[0]?.message).toMatch(/^not checked: gpg could not read it: /);
    const i = await inspectSolutionIso(iso, { gpg: path.join(tmp.path, 'no-gpg') });
    expect(describeSignature(i.signature)).toMatch(/^unreadable SHA256SUM.asc \(gpg could not/);
  });

  it('a signature by another key is refused (exit 1)', async () => {
    const other = await copySet('other-key');
    const sum = path.join(path.dirname(other), 'SHA256SUM');
    execFileSync('gpg', [
      '--homedir',
      otherHome,
      '--batch',
      '--yes',
      '--armor',
      '--detach-sign',
      '--output',
      `${sum}.asc`,
      sum,
    ]);
    const r = await verifySolutionIso(other, { key: pub });
    expect(codes(r.problems)).toEqual(['error:signature-invalid']);
    expect(r.problems[0]?.message).toContain(`which is not a key of ${pub}`);
    // The right key for that signature passes.
    expect((await verifySolutionIso(other, { key: otherPub })).problems).toEqual([]);
    expect((await runSolutionInProcess(['verify', other, '--key', pub])).code).toBe(1);
  });

  it('a damaged signature is refused', async () => {
    const bad = await copySet('bad-sig');
    const asc = path.join(path.dirname(bad), 'SHA256SUM.asc');
    const text = await readFile(asc, 'utf8');
    // Replace one base64 character of the signature body.
    const lines = text.split('\n');
    const i = lines.findIndex((l) => l.length > 20 && !l.includes('PGP'));
    const line = lines[i] ?? '';
    lines[i] = `${line.slice(0, 10)}${line[10] === 'A' ? 'B' : 'A'}${line.slice(11)}`;
    await writeFile(asc, lines.join('\n'));
    const r = await verifySolutionIso(bad, { key: pub });
    expect(codes(r.problems)).toEqual(['error:signature-invalid']);
  });

  it('a tampered SHA256SUM fails its signature; a tampered ISO fails SHA256SUM', async () => {
    const sumSet = await copySet('bad-sum');
    const sum = path.join(path.dirname(sumSet), 'SHA256SUM');
    await writeFile(sum, `${'0'.repeat(64)}  ex.iso\n`);
    const r = await verifySolutionIso(sumSet, { key: pub });
    expect(codes(r.problems).sort()).toEqual([
      'error:sha256sum-mismatch',
      'error:signature-invalid',
    ]);
    expect(r.problems.find((p) => p.code === 'signature-invalid')?.message).toContain(
      'BAD signature',
    );

    const isoSet = await copySet('bad-iso');
    const bytes = await readFile(isoSet);
    // One byte flipped in the middle of the file (a blob or padding): the whole-file hash moves.
    const at = Math.floor(bytes.length / 2);
    bytes[at] = (bytes[at] ?? 0) ^ 0xff;
    await writeFile(isoSet, bytes);
    const t = await verifySolutionIso(isoSet, { key: pub });
    expect(codes(t.problems)).toContain('error:sha256sum-mismatch');
    expect(t.signature?.status).toBe('good');
    expect((await runSolutionInProcess(['verify', isoSet, '--key', pub])).code).toBe(1);
  });

  it('--key without SHA256SUM.asc is an error (signature-missing)', async () => {
    const unsigned = await copySet('unsigned');
    await rm(path.join(path.dirname(unsigned), 'SHA256SUM.asc'));
    const r = await verifySolutionIso(unsigned, { key: pub });
    expect(codes(r.problems)).toEqual(['error:signature-missing']);
    // Without --key an unsigned ISO is fine.
    expect((await verifySolutionIso(unsigned)).problems).toEqual([]);
  });

  it('bad --key files and --sign-key values are usage errors (exit 2) before anything runs', async () => {
    const notAKey = path.join(tmp.path, 'not-a-key.asc');
    await writeFile(notAKey, 'hello\n');
    await expect(verifySolutionIso(iso, { key: notAKey })).rejects.toBeInstanceOf(UsageError);
    const r1 = await runSolutionInProcess(['verify', iso, '--key', notAKey]);
    expect(r1.code).toBe(2);
    expect(r1.err).toContain(`error: --key ${notAKey} holds no OpenPGP public key`);
    expect(r1.err).toContain('hint: export the signer');
    expect(r1.err).not.toMatch(/\n\s+at /);
    const r2 = await runSolutionInProcess([
      'verify',
      iso,
      '--key',
      path.join(tmp.path, 'nope.asc'),
    ]);
    expect(r2.code).toBe(2);
    expect(r2.err).toContain('nope.asc: no such file');
    const r3 = await runSolutionInProcess(['inspect', iso, '--key', tmp.path]);
    expect(r3.code).toBe(2);
    expect(r3.err).toContain('is a directory, not a regular file');
    const r4 = await runSolutionInProcess(['verify', iso, '--key', pub, '--no-checksum']);
    expect(r4.code).toBe(2);
    expect(r4.err).toContain('--key checks the signature of SHA256SUM, which --no-checksum skips');

    // An unknown signing key: exit 2, nothing written (no ISO, no work directory).
    const out = path.join(tmp.path, 'never', 'x.iso');
    await mkdir(path.dirname(out));
    const work = path.join(tmp.path, 'never-work');
    const r5 = await runSolutionInProcess(
      [
        'build',
        EXAMPLE,
        '--allow-host-files',
        '-o',
        out,
        '--work-dir',
        work,
        '--sign-key',
        'nobody@example.invalid',
      ],
      { GNUPGHOME: home, SOURCE_DATE_EPOCH: '1700000000' },
    );
    expect(r5.code).toBe(2);
    expect(r5.err).toContain(
      `error: --sign-key nobody@example.invalid: no such secret key in ${home}`,
    );
    expect(r5.err).toContain('hint: list your secret keys');
    expect(await readdir(path.dirname(out))).toEqual([]);
    expect(await readdir(tmp.path)).not.toContain('never-work');
  });

  it('a --sign-key matching several secret keys is a usage error naming them', async () => {
    await key('second', 'Second <second@example.invalid>', { home });
    const out = path.join(tmp.path, 'ambiguous', 'x.iso');
    await mkdir(path.dirname(out));
    const r = await runSolutionInProcess(
      ['build', EXAMPLE, '--allow-host-files', '-o', out, '--sign-key', 'example.invalid'],
      { GNUPGHOME: home, SOURCE_DATE_EPOCH: '1700000000' },
    );
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /error: --sign-key example\.invalid matches 2 secret keys in .*gnupg \([A-F0-9]{40}, [A-F0-9]{40}\)/,
    );
    expect(r.err).toContain('hint: pass the full fingerprint of the key to sign with');
    expect(await readdir(path.dirname(out))).toEqual([]);
  });

  it('a key whose passphrase gpg cannot ask for: exit 1 with the hint, no ISO left', async () => {
    const locked = await key('locked', 'Locked <locked@example.invalid>', {
      passphrase: 'secret',
    });
    const out = path.join(tmp.path, 'locked-out', 'x.iso');
    await mkdir(path.dirname(out));
    try {
      const r = await runSolutionInProcess(
        [
          'build',
          EXAMPLE,
          '--allow-host-files',
          '-o',
          out,
          '--work-dir',
          path.join(tmp.path, 'work'),
          '--sign-key',
          'locked@example.invalid',
        ],
        { GNUPGHOME: locked.home, SOURCE_DATE_EPOCH: '1700000000' },
      );
      expect(r.code).toBe(1);
      expect(r.err).toMatch(
        /error \[command-failed\]: gpg could not sign SHA256SUM with key [A-F0-9]{40}/,
      );
      expect(r.err).toContain(
        'hint: a key protected by a passphrase needs it cached in gpg-agent first',
      );
      expect(r.err).not.toMatch(/\n\s+at /);
      expect(await readdir(path.dirname(out))).toEqual([]);
    } finally {
      await locked.stop();
    }
  });

  it('--sign-key without gpg (GPG_BIN wrong): tool-not-found, exit 1, nothing written', async () => {
    const out = path.join(tmp.path, 'no-gpg-out', 'x.iso');
    await mkdir(path.dirname(out));
    const r = await runSolutionInProcess(
      ['build', EXAMPLE, '--allow-host-files', '-o', out, '--sign-key', 'k'],
      {
        GPG_BIN: path.join(tmp.path, 'no-such-gpg'),
        SOURCE_DATE_EPOCH: '1700000000',
      },
    );
    expect(r.code).toBe(1);
    expect(r.err).toContain('error [tool-not-found]');
    expect(r.err).toContain(
      'hint: install it (run the setup command) or set its *_BIN key in .env',
    );
    expect(await readdir(path.dirname(out))).toEqual([]);
  });

  it('an unsigned rebuild leaves no stale signature beside the ISO', async () => {
    const out = path.join(tmp.path, 'rebuild', 'ex.iso');
    await mkdir(path.dirname(out));
    const opts = {
      dir: EXAMPLE,
      output: out,
      workDir: path.join(tmp.path, 'work'),
      sourceDateEpoch: 1700000000,
      allowHostFiles: true,
    };
    await buildSolution({ ...opts, signKey: fingerprint, gnupgHome: home });
    expect(await readdir(path.dirname(out))).toContain('SHA256SUM.asc');
    const again = await buildSolution(opts);
    expect(again.signature).toBeUndefined();
    expect((await readdir(path.dirname(out))).sort()).toEqual(['SHA256SUM', 'ex.iso']);
  });
});

describe('gpg status lines', () => {
  it('reads good, bad, unknown-key and unreadable signatures', () => {
    const fpr = 'A'.repeat(40);
    expect(
      parseVerifyStatus(
        `[GNUPG:] NEWSIG s@x\n[GNUPG:] GOODSIG 1234 A B <a@b>\n[GNUPG:] VALIDSIG ${fpr} 2023-11-14 1700000000 0 4 0 22 8 00 ${fpr}\n`,
        'f.asc',
        '',
      ),
    ).toEqual({
      file: 'f.asc',
      status: 'good',
      key: fpr,
      signer: 'A B <a@b>',
      issuer: 's@x',
      created: '2023-11-14T22:13:20Z',
      detail: '',
    });
    expect(parseVerifyStatus('[GNUPG:] BADSIG 1234 A <a@b>\n', 'f', '').status).toBe('bad');
    expect(
      parseVerifyStatus(`[GNUPG:] ERRSIG 1234 22 8 00 1700000000 9 ${fpr}\n`, 'f', ''),
    ).toMatchObject({ status: 'unknown-key', key: fpr });
    expect(parseVerifyStatus('[GNUPG:] NODATA 1\n', 'f', 'no signature').status).toBe('unreadable');
  });
});
