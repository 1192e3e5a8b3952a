/**
 * Stand-in RPMs are signed reproducibly: two mirrors seeded in different places (two clones,
 * two machines) sign the same RPM into the same bytes, with a key that verifies.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureSigningKey, signRpms } from '../../buildchain/sources/embedded/signing.ts';
import { buildStandInRpm } from '../../buildchain/sources/embedded/stand-in-rpm.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const dirs: TempDir[] = [];

describe.skipIf(missingTools('rpmbuild', 'rpmsign', 'gpg', 'rpmkeys').length > 0)(
  'stand-in signing',
  () => {
    afterAll(async () => {
      await Promise.all(dirs.map((d) => d.cleanup()));
    });

    it('signs the same RPM into identical bytes in two fresh homes, verifiable with the served key', async () => {
      const signed: Buffer[] = [];
      let publicKey = '';
      for (let i = 0; i < 2; i++) {
        const d = await makeTempDir('mk8s-signing-');
        dirs.push(d);
        const gnupgHome = path.join(d.path, 'gnupg');
        publicKey = await ensureSigningKey({ gnupgHome });
        const rpm = await buildStandInRpm(
          { name: 'kubelet', version: '1.15.3', release: '0' },
          { workDir: path.join(d.path, 'work'), destDir: path.join(d.path, 'out') },
        );
        await signRpms([rpm], { gnupgHome });
        signed.push(await readFile(rpm));
        if (i === 1) {
          const db = path.join(d.path, 'rpmdb');
          const key = path.join(d.path, 'key.asc');
          await writeFile(key, publicKey);
          execFileSync('rpmkeys', ['--dbpath', db, '--import', key]);
          const out = execFileSync('rpmkeys', ['--dbpath', db, '--checksig', rpm]).toString();
          expect(out).toMatch(/signatures OK|digests signatures OK/);
        }
      }
      expect(signed[0]?.equals(signed[1] ?? Buffer.alloc(0))).toBe(true);
    });
  },
);
