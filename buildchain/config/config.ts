import type { ToolSpec } from '../engine/task.ts';
import type { Settings, SourcesKind } from './settings.ts';

export type { SourcesKind } from './settings.ts';

/**
 * The validated build configuration: `.env.example` defaults, overridden by `.env`, overridden
 * by the environment. Built once by the CLI (`loadConfig`) and passed to every task factory.
 */
export interface BuildConfig {
  /** Absolute repository root (where package.json lives). */
  readonly root: string;
  /** Absolute BUILD_ROOT (default `<root>/_build`). */
  readonly buildRoot: string;
  /** Absolute ISO root: `<buildRoot>/root`. */
  readonly isoRoot: string;
  /** PROJECT_NAME, e.g. `MetalK8s`. */
  readonly projectName: string;
  readonly sources: SourcesKind;
  /** Every key but the tools, parsed and validated once (read these, not `env`). */
  readonly settings: Settings;
  /** Every known key with its effective value ('' when unset): for fingerprints and tools. */
  readonly env: Readonly<Record<string, string>>;
  /** Tools by name (`skopeo`, `nginx`, ...), resolved from their *_BIN keys. */
  readonly tools: Readonly<Record<string, ToolSpec>>;
}
