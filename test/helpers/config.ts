/** A BuildConfig for a test workspace: BUILD_ROOT `<root>/_build`, tools resolved from `env`. */
import path from 'node:path';
import type { BuildConfig, SourcesKind } from '../../buildchain/config/config.ts';
import { parseSettings } from '../../buildchain/config/settings.ts';
import { resolveTools } from '../../buildchain/config/tools.ts';
import type { Sources } from '../../buildchain/sources/sources.ts';

export function testConfig(
  root: string,
  env: Record<string, string> = {},
  sources: SourcesKind = 'embedded',
): BuildConfig {
  const buildRoot = path.join(root, '_build');
  return {
    root,
    buildRoot,
    isoRoot: path.join(buildRoot, 'root'),
    projectName: 'MetalK8s',
    sources,
    settings: parseSettings(env),
    env,
    tools: resolveTools(env),
  };
}

/** `config` with other settings: `env` replaces its values, validated like `loadConfig` does. */
export function withEnv(config: BuildConfig, env: Record<string, string>): BuildConfig {
  return { ...config, env, settings: parseSettings(env) };
}

/**
 * Sources of `kind` for tasks that are only defined or that never fetch: no server, a registry
 * that rejects, digests unknown, URLs as they are, no lock directory.
 */
export function unusedSources(kind: SourcesKind = 'embedded'): Sources {
  return {
    kind,
    describe: () => `${kind} (test)`,
    registry: () => Promise.reject(new Error('no remote images expected')),
    imageDigest: () => Promise.resolve(undefined),
    repoUrl: (u) => Promise.resolve(u),
    lockDir: '/nonexistent',
    stop: () => Promise.resolve(),
  };
}
