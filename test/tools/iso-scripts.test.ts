import { spawnSync } from 'node:child_process';
import { copyFile, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingTools } from '../helpers/require-tool.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const missing = missingTools('shellcheck', 'bash', 'xorriso', 'isoinfo');
const scripts = path.resolve(import.meta.dirname, '../../scripts');
/** The ISO's scripts (scripts/setup.sh is the machine setup, not shipped). */
const ISO_SCRIPTS = [
  'backup.sh',
  'bootstrap.sh.in',
  'downgrade.sh',
  'iso-manager.sh',
  'restore.sh.in',
  'solution-manager.sh',
  'upgrade.sh',
];

function run(
  script: string,
  args: string[],
  env: Record<string, string> = {},
): { code: number; out: string } {
  const r = spawnSync('bash', [script, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

describe.skipIf(missing.length > 0)('ISO scripts', () => {
  let tmp: TempDir;
  beforeAll(async () => {
    tmp = await makeTempDir('iso-scripts-');
    // An ISO root: the scripts next to product.txt, templates rendered.
    for (const f of ISO_SCRIPTS) {
      const text = (await readFile(path.join(scripts, f), 'utf8')).replaceAll('@@VERSION', '2.4.0');
      await writeFile(path.join(tmp.path, f.replace(/\.in$/, '')), text, { mode: 0o755 });
    }
    await writeFile(path.join(tmp.path, 'product.txt'), 'NAME=MetalK8s\nVERSION=2.4.0\n');
    await copyFile('/etc/hostname', path.join(tmp.path, 'not-an.iso'));
  });
  afterAll(async () => {
    await tmp.cleanup();
  });

  it('are shellcheck-clean', async () => {
    const files = (await readdir(scripts)).filter((f) => ISO_SCRIPTS.includes(f));
    expect(files.sort()).toEqual(ISO_SCRIPTS);
    const r = spawnSync('shellcheck', ['-s', 'bash', ...files], { cwd: scripts, encoding: 'utf8' });
    expect(r.stdout).toBe('');
    expect(r.status).toBe(0);
  });

  it('solution-manager.sh validates -a/--add and -d/--del and prints the new configuration', async () => {
    const cfg = path.join(tmp.path, 'solutions.yaml');
    const sm = path.join(tmp.path, 'solution-manager.sh');
    expect(run(sm, []).out).toContain('nothing to do');
    expect(run(sm, ['--add', 'relative.iso']).out).toContain('give an absolute path');
    const iso = path.join(tmp.path, 'solution.iso');
    await writeFile(iso, 'x');
    const bad = run(sm, ['--dry-run', '-a', iso], { SOLUTIONS_CONFIG: cfg });
    expect(bad.code).not.toBe(0);
    expect(bad.out).toContain('is not an ISO 9660 image');
    await writeFile(
      cfg,
      `apiVersion: metalk8s.scality.com/v1alpha1\nkind: SolutionsConfiguration\nsolutions:\n  - /old.iso\n`,
    );
    const del = run(sm, ['--dry-run', '--del', '/old.iso'], { SOLUTIONS_CONFIG: cfg });
    expect(del.code).toBe(0);
    // MetalK8s 2.4 reads `archives:`: a file written with `solutions:` is rewritten.
    expect(del.out).toContain('archives: []');
    expect(del.out).not.toContain('solutions:');
    expect(del.out).toContain(
      '+ salt-run --retcode-passthrough state.orchestrate metalk8s.orchestrate.solutions saltenv=metalk8s-2.4.0',
    );
    expect(await readFile(cfg, 'utf8')).toContain('/old.iso');
    // An ISO added to a file in 2.4's format: listed under archives:, next to those kept.
    await writeFile(
      cfg,
      `apiVersion: metalk8s.scality.com/v1alpha1\nkind: SolutionsConfiguration\narchives:\n  - /old.iso\n`,
    );
    const realIso = path.join(tmp.path, 'real.iso');
    spawnSync('xorriso', ['-as', 'mkisofs', '-quiet', '-o', realIso, '-V', 'S', scripts]);
    const add = run(sm, ['--dry-run', '-a', realIso], { SOLUTIONS_CONFIG: cfg });
    expect(add.code).toBe(0);
    expect(add.out).toContain(`    archives:\n      - /old.iso\n      - ${realIso}\n`);
    const odd = run(sm, ['--dry-run', '-a', '/srv/my solution #1.iso'], { SOLUTIONS_CONFIG: cfg });
    expect(odd.code).not.toBe(0);
    expect(odd.out).toContain('the path holds characters other than');
    expect(run(sm, ['--dry-run', '-d', '/unknown.iso'], { SOLUTIONS_CONFIG: cfg }).out).toContain(
      'is not declared',
    );
  });

  it('upgrade.sh and downgrade.sh check the direction against the ISO version', () => {
    const up = path.join(tmp.path, 'upgrade.sh');
    expect(run(up, ['--dry-run', '--current-version', '2.5.0']).out).toContain(
      '2.4.0 is not newer than the running 2.5.0',
    );
    const ok = run(up, ['--dry-run', '--current-version', '2.3.1']);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain(
      '+ salt-run --retcode-passthrough state.orchestrate metalk8s.orchestrate.upgrade',
    );
    expect(
      run(path.join(tmp.path, 'downgrade.sh'), ['--dry-run', '--current-version', '2.3.1']).out,
    ).toContain('is not older');
    const down = run(path.join(tmp.path, 'downgrade.sh'), [
      '--dry-run',
      '--current-version',
      '2.5.0',
    ]);
    expect(down.code).toBe(0);
    expect(down.out).toContain('Downgrade MetalK8s 2.5.0 -> 2.4.0');
    expect(down.out).toContain('state.orchestrate metalk8s.orchestrate.downgrade');
    expect(run(up, ['--dry-run', '--current-version', 'banana']).out).toContain('invalid version');
  });

  it('bootstrap.sh, restore.sh, backup.sh and iso-manager.sh validate their input', () => {
    const boot = run(path.join(tmp.path, 'bootstrap.sh'), ['--dry-run'], {
      BOOTSTRAP_CONFIG: path.join(tmp.path, 'none.yaml'),
    });
    expect(boot.code).not.toBe(0);
    expect(boot.out).toContain('none.yaml not found');
    expect(run(path.join(tmp.path, 'restore.sh'), []).out).toContain('--backup-file is required');
    expect(
      run(path.join(tmp.path, 'restore.sh'), [
        '-b',
        '/etc/hostname',
        '--apiserver-node-ip',
        '1.2.3',
      ]).out,
    ).toContain('invalid IPv4 address');
    expect(run(path.join(tmp.path, 'backup.sh'), ['--dry-run', '-d', '/b']).out).toMatch(
      /\+ tar -czf \/b\/backup_\d{8}_\d{6}\.tar\.gz -C \/ etc\/kubernetes\/pki etc\/metalk8s etc\/salt/,
    );
    expect(
      run(path.join(tmp.path, 'iso-manager.sh'), [
        '--dry-run',
        '-a',
        path.join(tmp.path, 'not-an.iso'),
      ]).out,
    ).toContain('is not an ISO 9660 image');
  });
});
