/** The stored state, file hasher and tool checker of one command, opened and saved together. */
import { FileHasher } from './fingerprint.ts';
import { StateStore } from './state-store.ts';
import type { ToolSpec } from './task.ts';
import { ToolChecker } from './tool-check.ts';

export interface EngineSession {
  readonly stateDir: string;
  readonly state: StateStore;
  readonly hasher: FileHasher;
  readonly tools: ToolChecker;
}

export function openSession(
  stateDir: string,
  root: string,
  tools: Readonly<Record<string, ToolSpec>>,
): EngineSession {
  const state = StateStore.open(stateDir);
  return {
    stateDir,
    state,
    hasher: new FileHasher(state.files, state.modules),
    tools: new ToolChecker(tools, root, state.tools),
  };
}

/** Saves the state (atomically) when anything changed, trusting the files hashed this run. */
export async function saveSession(s: EngineSession): Promise<void> {
  if (s.hasher.misses > 0 || s.tools.cacheChanged) {
    await s.hasher.settle();
    s.state.markDirty();
  }
  s.state.save();
}
