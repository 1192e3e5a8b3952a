/**
 * Public API of the Solution domain, by stage: config (command line, output paths), lint,
 * build (on the engine: stage tasks under the Solution's work directory), verify/inspect and
 * init. `tasks.ts` holds the engine tasks of the repository's own Solutions (tasks/index.ts).
 */
export {
  parseSolutionArgs,
  SolutionUsageError,
  USAGE,
  type SolutionArgs,
} from './config/cli-args.ts';
export { outputPathProblem, workDirProblem } from './config/output-paths.ts';
export { lintSolution } from './lint/lint.ts';
export {
  formatProblems,
  hasErrors,
  toSharedProblem,
  type Problem,
  type ProblemCode,
} from './lint/problems.ts';
export {
  buildSolution,
  SolutionInvalidError,
  type BuildSolutionOptions,
  type BuildSolutionResult,
  type SolutionTools,
} from './build/build.ts';
export { formatInspectReport, inspectSolutionIso } from './verify/inspect.ts';
export { verifySolutionIso } from './verify/verify.ts';
export { initSolution } from './init/init.ts';
