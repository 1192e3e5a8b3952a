/** Parsed Solution configurations for the suites of the Solution rules. */
import type { SolutionConfig } from '../../buildchain/tasks/solution/config/solution-config.ts';

/**
 * A valid solution.yaml as parsed: `Example` 1.0.0 for MetalK8s >=2.4.0, archive layout 1, no
 * images. A test spreads its own fields over it.
 */
export const BASE_SOLUTION_CONFIG: SolutionConfig = {
  name: 'Example',
  version: '1.0.0',
  requireMetalK8s: '>=2.4.0',
  archiveLayoutVersion: 1,
  manifestYaml: false,
  images: [],
};
