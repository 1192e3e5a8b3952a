/**
 * `metalk8s-solution` / `npm run solution -- <init|build|lint|inspect|verify> ...`: the Solution
 * author's tool. `build` runs its stages as engine tasks (tasks/solution/build/). Exit codes are
 * the engine's (cli/run.ts): 0 ok, 1 problems found or a stage failed, 2 usage/config (nothing
 * ran; also another build holding the work directory's lock), 3 internal error, 130 interrupted.
 */
import { realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BuildConfig } from '../config/config.ts';
import { UsageError } from '../engine/failures.ts';
import { jsonFileReporter } from '../engine/reporters/json.ts';
import { TaskError } from '../engine/task.ts';
import {
  buildSolution,
  formatInspectReport,
  formatProblems,
  hasErrors,
  initSolution,
  inspectSolutionIso,
  lintSolution,
  outputPathProblem,
  parseSolutionArgs,
  SolutionInvalidError,
  SolutionUsageError,
  USAGE,
  verifySolutionIso,
  workDirProblem,
  type Problem,
  type SolutionArgs,
} from '../tasks/solution/index.ts';
import { createSources, type Sources } from '../sources/sources.ts';
import { loadPackageConfig, usageErrorText } from './settings.ts';
import { EXIT_FAILED, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE } from './run.ts';

/** Where the command writes (tests pass their own). */
export interface SolutionIo {
  out(text: string): void;
  err(text: string): void;
}

const stdio: SolutionIo = {
  out: (t) => process.stdout.write(`${t}\n`),
  err: (t) => process.stderr.write(`${t}\n`),
};

function reportProblems(
  problems: readonly Problem[],
  json: boolean,
  io: SolutionIo,
  okText: string,
  extra: Readonly<Record<string, unknown>> = {},
): number {
  if (json) io.out(JSON.stringify({ ok: !hasErrors(problems), problems, ...extra }, null, 2));
  else if (problems.length > 0) io.err(formatProblems(problems));
  const errors = problems.filter((p) => p.severity === 'error').length;
  // Warnings are counted too: "no problems found" only when there is none at all.
  if (!json)
    io.err(
      problems.length > 0 ? `${errors} error(s), ${problems.length - errors} warning(s)` : okText,
    );
  return errors > 0 ? EXIT_FAILED : EXIT_OK;
}

async function runBuild(
  a: SolutionArgs,
  config: BuildConfig,
  io: SolutionIo,
  signal: AbortSignal,
): Promise<number> {
  checkBuildPaths(a);
  // Validated by loadConfig: a bad value is a usage error before anything runs.
  const epoch = config.settings.sourceDateEpoch;
  let sources: Sources | undefined;
  // An unwritable --json-log is a usage error (2), as for the build command.
  const reporter = a.jsonLog === undefined ? undefined : jsonFileReporter(a.jsonLog);
  try {
    const result = await buildSolution({
      dir: a.target,
      ...(a.output !== undefined ? { output: a.output } : {}),
      ...(a.workDir !== undefined ? { workDir: a.workDir } : {}),
      ...(epoch !== undefined ? { sourceDateEpoch: epoch } : {}),
      tools: {
        skopeo: config.tools.skopeo?.bin ?? 'skopeo',
        buildah: config.tools.buildah?.bin ?? 'buildah',
        xorriso: config.tools.xorriso?.bin ?? 'xorriso',
        git: config.tools.git?.bin ?? 'git',
        gpg: config.tools.gpg?.bin ?? 'gpg',
      },
      ...(a.signKey !== undefined ? { signKey: a.signKey } : {}),
      ...(config.settings.gnupgHome !== undefined ? { gnupgHome: config.settings.gnupgHome } : {}),
      sourcesFactory: () => (sources ??= createSources(config)),
      builderConfig: config,
      allowUnpinned: a.allowUnpinned || config.settings.allowUnpinnedImages,
      allowHostFiles: a.allowHostFiles,
      ...(a.imagesAuto ? { imagesAuto: true } : {}),
      ...(a.manifestYaml ? { manifestYaml: true } : {}),
      log: (line) => {
        io.err(line);
      },
      ...(reporter !== undefined ? { reporter } : {}),
      signal,
    });
    if (result.warnings.length > 0) io.err(formatProblems(result.warnings));
    if (a.json) io.out(JSON.stringify(result, null, 2));
    else
      io.out(
        `${result.iso}\n${result.sha256}  ${path.basename(result.iso)}${result.upToDate ? '  (up to date)' : ''}` +
          (result.signature === undefined
            ? ''
            : `\n${result.signature}: signed by key ${result.signedBy ?? '?'}`),
      );
    return EXIT_OK;
  } finally {
    await reporter?.close();
    await sources?.stop();
  }
}

/** `-o` and `--work-dir` mistakes are usage errors (2), found before anything runs. */
function checkBuildPaths(a: SolutionArgs): void {
  const problem =
    (a.output === undefined ? undefined : outputPathProblem(a.target, a.output)) ??
    (a.workDir === undefined ? undefined : workDirProblem(a.target, a.workDir));
  if (problem !== undefined)
    throw new UsageError('usage', `${problem.message}: nothing was written`, problem.fix);
}

/** A bad name/version or a non-empty directory is a usage error (2): nothing was written. */
async function runInit(a: SolutionArgs, io: SolutionIo): Promise<number> {
  try {
    const files = await initSolution(a.target, {
      name: a.name ?? '',
      version: a.version ?? '',
      ...(a.requireMetalK8s !== undefined ? { requireMetalK8s: a.requireMetalK8s } : {}),
    });
    io.out(
      `created ${a.target}:\n${files.map((f) => `  ${f}`).join('\n')}\n` +
        `next: metalk8s-solution build ${a.target} --allow-host-files  (its image copies this host's busybox: hostFiles in solution.yaml)`,
    );
    return EXIT_OK;
  } catch (err) {
    if (!(err instanceof TaskError) || err.reason !== 'invalid-input') throw err;
    io.err(usageErrorText(err));
    return EXIT_USAGE;
  }
}

/** `lint` and `build` need an existing Solution directory (a missing one is a usage error). */
function checkSolutionDir(a: SolutionArgs): void {
  if (a.command !== 'lint' && a.command !== 'build') return;
  const stat = statSync(a.target, { throwIfNoEntry: false });
  if (stat === undefined) {
    throw new UsageError(
      'usage',
      `${a.target}: no such Solution directory`,
      'check the path, or create one with `metalk8s-solution init DIR --name N --version V`',
    );
  }
  if (!stat.isDirectory()) {
    throw new UsageError(
      'usage',
      `${a.target} is not a directory`,
      'give the Solution directory (the one holding solution.yaml)',
    );
  }
}

async function dispatch(a: SolutionArgs, io: SolutionIo, signal: AbortSignal): Promise<number> {
  checkSolutionDir(a);
  switch (a.command) {
    case 'help':
      io.out(USAGE);
      return EXIT_OK;
    case 'init':
      return runInit(a, io);
    case 'lint': {
      const config = loadPackageConfig();
      const r = await lintSolution(a.target, {
        allowUnpinned: a.allowUnpinned || config.settings.allowUnpinnedImages,
        ...(a.imagesAuto ? { imagesAuto: true } : {}),
      });
      return reportProblems(r.problems, a.json, io, 'no problems found');
    }
    case 'build':
      return runBuild(a, loadPackageConfig(), io, signal);
    case 'inspect': {
      const config = loadPackageConfig();
      const r = await inspectSolutionIso(a.target, {
        isoinfo: config.tools.isoinfo?.bin ?? 'isoinfo',
        gpg: config.tools.gpg?.bin ?? 'gpg',
        ...(a.key !== undefined ? { key: a.key } : {}),
      });
      io.out(a.json ? JSON.stringify(r, null, 2) : formatInspectReport(r));
      return EXIT_OK;
    }
    case 'verify': {
      const config = loadPackageConfig();
      const r = await verifySolutionIso(a.target, {
        isoinfo: config.tools.isoinfo?.bin ?? 'isoinfo',
        checksum: a.checksum,
        gpg: config.tools.gpg?.bin ?? 'gpg',
        ...(a.key !== undefined ? { key: a.key } : {}),
      });
      const signed =
        r.signature?.status === 'good'
          ? ` (SHA256SUM signed by ${r.signature.signer ?? '?'}, key ${r.signature.key ?? '?'})`
          : '';
      return reportProblems(
        r.problems,
        a.json,
        io,
        `${a.target}: OK${signed}`,
        r.signature === undefined ? {} : { signature: r.signature },
      );
    }
  }
}

function explain(err: TaskError, io: SolutionIo): void {
  io.err(`error [${err.reason}]: ${err.message}`);
  if (err.argv !== undefined) io.err(`  command: ${err.argv.join(' ')}`);
  for (const l of err.stderrTail ?? []) io.err(`  | ${l}`);
  if (err.hint !== undefined) io.err(`  hint: ${err.hint}`);
}

/** Runs the command line; resolves with the exit code. Never throws. */
export async function runSolutionCli(
  argv: readonly string[],
  io: SolutionIo = stdio,
  signal = new AbortController().signal,
): Promise<number> {
  let args: SolutionArgs;
  try {
    args = parseSolutionArgs(argv);
  } catch (err) {
    io.err(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  try {
    return await dispatch(args, io, signal);
  } catch (err) {
    if (signal.aborted) return EXIT_INTERRUPTED;
    if (err instanceof SolutionInvalidError) {
      io.err(formatProblems(err.problems));
      io.err(`${err.problems.length} error(s): no ISO was written`);
      return EXIT_FAILED;
    }
    if (err instanceof UsageError || err instanceof SolutionUsageError) {
      io.err(
        usageErrorText({
          message: err.message,
          hint: err instanceof UsageError ? err.hint : undefined,
        }),
      );
      return EXIT_USAGE;
    }
    if (err instanceof TaskError) {
      explain(err, io);
      return err.reason === 'internal-error' ? EXIT_INTERNAL : EXIT_FAILED;
    }
    io.err(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return EXIT_INTERNAL;
  }
}

/** Entry point when run directly (tsx) or from bin/metalk8s-solution.js. */
export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const controller = new AbortController();
  const onSignal = (): void => {
    controller.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const code = await runSolutionCli(argv, stdio, controller.signal);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.exitCode = controller.signal.aborted ? EXIT_INTERRUPTED : code;
}

function isMainModule(): boolean {
  const invoked = process.argv[1];
  if (invoked === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(invoked)).href;
  } catch {
    return false;
  }
}

// No top-level await: the bundle is CommonJS (bin/compile-dist.mjs).
if (isMainModule()) void main();
