/**
 * `npm run bench -- packages` (or `npx tsx bench/packages.ts`): K small noarch specs built to
 * SRPMs and RPMs and assembled into the local yum repo through the CLI (`packaging`), cold and
 * no-op, with `-n 1` and `-n 2`. Target: a no-op under 1 s for 200 RPMs (engine time, as the
 * CLI reports it; the wall time adds the tsx start-up).
 * Options: `--count K` (default 200), `--small` (K = 20), `--keep` (keep the work dir).
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '..');

interface Options {
  readonly count: number;
  readonly keep: boolean;
}

function parseArgs(args: readonly string[]): Options {
  let count = 200;
  let keep = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--small') count = 20;
    else if (a === '--keep') keep = true;
    else if (a === '--count') count = Number(args[++i]);
    else
      throw new Error(
        `bench packages: unknown option ${String(a)} (use --count K, --small, --keep)`,
      );
  }
  if (!Number.isInteger(count) || count < 1)
    throw new Error('bench packages: --count needs a positive integer');
  return { count, keep };
}

function spec(name: string): string {
  return [
    `Name: ${name}`,
    'Version: 1.0',
    'Release: 1%{?dist}',
    `Summary: bench package ${name}`,
    'License: MIT',
    'BuildArch: noarch',
    'Source0: data.txt',
    '',
    '%description',
    'Benchmark package.',
    '',
    '%install',
    `install -D -m 644 %{SOURCE0} %{buildroot}/usr/share/${name}/data.txt`,
    '',
    '%files',
    `/usr/share/${name}/data.txt`,
    '',
  ].join('\n');
}

export async function writeWorkspace(dir: string, count: number): Promise<void> {
  await copyFile(path.join(REPO, '.env.example'), path.join(dir, '.env.example'));
  await writeFile(path.join(dir, 'VERSION'), 'VERSION_MAJOR=2\nVERSION_MINOR=4\n');
  const names = Array.from({ length: count }, (_, i) => `bench-pkg-${String(i).padStart(4, '0')}`);
  const specs = path.join(dir, 'packages-specs');
  await mkdir(specs, { recursive: true });
  await writeFile(
    path.join(specs, 'redhat-7.yaml'),
    [
      'osFamily: redhat-7',
      'releasever: "7"',
      'distTag: el7',
      'repos: []',
      'packages:',
      ...names.map((n) => `  - { name: ${n}, built: true }`),
      '',
    ].join('\n'),
  );
  for (const n of names) {
    await mkdir(path.join(specs, n));
    await writeFile(path.join(specs, n, `${n}.spec`), spec(n));
    await writeFile(path.join(specs, n, 'data.txt'), `${n}\n`);
  }
}

/** Runs `packaging` with the CLI; returns wall seconds and the CLI's own summary line. */
async function build(dir: string, workers: number): Promise<{ wall: number; summary: string }> {
  const start = process.hrtime.bigint();
  const { stdout } = await exec(
    process.execPath,
    [
      path.join(REPO, 'node_modules/tsx/dist/cli.mjs'),
      path.join(REPO, 'buildchain/cli/bin.ts'),
      '--tasks-module',
      path.join(REPO, 'test/tools/packages-tasks-module.ts'),
      '-n',
      String(workers),
      'packaging',
    ],
    {
      cwd: dir,
      env: { ...process.env, SOURCES: 'upstream', SOURCE_DATE_EPOCH: '1700000000' },
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  const summary =
    stdout
      .split('\n')
      .filter((l) => l.startsWith('build '))
      .at(-1) ?? '';
  return { wall, summary };
}

export async function run(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mk8s-bench-packages-'));
  try {
    await writeWorkspace(dir, o.count);
    console.log(
      `packages bench: ${String(o.count)} specs → ${String(o.count)} RPMs → 1 repo (work dir ${dir})`,
    );
    console.log('workers  run      wall (s)  CLI summary');
    for (const n of [1, 2]) {
      await rm(path.join(dir, '_build'), { recursive: true, force: true });
      for (const phase of ['cold', 'no-op']) {
        const r = await build(dir, n);
        console.log(
          `-n ${String(n)}     ${phase.padEnd(8)} ${r.wall.toFixed(2).padStart(8)}  ${r.summary}`,
        );
      }
    }
  } finally {
    if (!o.keep) await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  await run(process.argv.slice(2));
}
