/**
 * The embedded mirror at run time: seeds (incrementally) then starts a distribution registry
 * and an nginx on 127.0.0.1 free ports, once (single-flight), and stops them by pid.
 */
import path from 'node:path';
import { nginxString, requireRpmPath } from '../../lib/text/quote.ts';
import type { MirrorPlan } from './content.ts';
import { mirrorDirs, seedMirror, type MirrorDirs, type SeedResult } from './seed.ts';
import { startNginx, startRegistry, type LoopbackServer } from './servers.ts';
import { RPM_PATH_FIX } from './stand-in-rpm.ts';

/** The running mirror. */
export interface MirrorEndpoints {
  /** `127.0.0.1:PORT` of the registry (repositories `<upstream-host>/<repository>`). */
  readonly registry: LoopbackServer;
  /** nginx serving the yum repos (`/<repo>/`) and files (`/_files/<host>/<path>`). */
  readonly web: LoopbackServer;
  readonly seed: SeedResult;
  readonly plan: MirrorPlan;
}

/** Options for {@link createEmbeddedMirror}. */
export interface EmbeddedMirrorOptions {
  readonly buildRoot: string;
  /** Loads the plan (content lists); called once, on first use. */
  readonly loadPlan: () => Promise<MirrorPlan>;
  readonly bins?: {
    readonly registry?: string;
    readonly nginx?: string;
    readonly rpmbuild?: string;
    readonly createrepo?: string;
    readonly gpg?: string;
    readonly rpmsign?: string;
  };
  readonly log?: (line: string) => void;
}

/** A lazily started embedded mirror. */
export interface EmbeddedMirror {
  readonly dirs: MirrorDirs;
  /** Seeds and starts on the first call; later calls share the same promise. */
  ensure(): Promise<MirrorEndpoints>;
  /** Seeds only (no server). */
  seed(signal?: AbortSignal): Promise<SeedResult>;
  /** Stops the servers if started. Idempotent; waits for a start in progress. */
  stop(): Promise<void>;
}

export function createEmbeddedMirror(opts: EmbeddedMirrorOptions): EmbeddedMirror {
  const dirs = mirrorDirs(opts.buildRoot);
  const bins = opts.bins ?? {};
  let planPromise: Promise<MirrorPlan> | undefined;
  const abort = new AbortController();
  let started: Promise<MirrorEndpoints> | undefined;
  const servers: LoopbackServer[] = [];
  let stopping = false;

  const plan = (): Promise<MirrorPlan> => (planPromise ??= opts.loadPlan());

  // Single-flight: `mirror:seed` and the first use of the sources may seed concurrently.
  let seeding: Promise<SeedResult> | undefined;
  const seed = (signal?: AbortSignal): Promise<SeedResult> => {
    seeding ??= (async () => {
      // Refused before anything is built, named as the setting: rpmbuild runs under it.
      requireRpmPath(path.resolve(opts.buildRoot), 'BUILD_ROOT', RPM_PATH_FIX);
      return seedMirror({
        dirs,
        plan: await plan(),
        rpmbuildBin: bins.rpmbuild,
        createrepoBin: bins.createrepo,
        gpgBin: bins.gpg,
        rpmsignBin: bins.rpmsign,
        log: opts.log,
        signal: signal === undefined ? abort.signal : AbortSignal.any([signal, abort.signal]),
      });
    })().finally(() => {
      seeding = undefined;
    });
    return seeding;
  };

  const start = async (): Promise<MirrorEndpoints> => {
    const result = await seed();
    abort.signal.throwIfAborted();
    const registry = await startRegistry({ dir: dirs.registry, bin: bins.registry });
    servers.push(registry);
    abort.signal.throwIfAborted();
    // As root, nginx workers run as nobody and could not read a BUILD_ROOT under /root.
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    const web = await startNginx({
      dir: dirs.nginx,
      bin: bins.nginx,
      serverBody: `root ${nginxString(path.resolve(dirs.www), 'BUILD_ROOT', RPM_PATH_FIX)};\n    autoindex on;`,
      mainExtra: isRoot ? 'user root;' : '',
    });
    servers.push(web);
    opts.log?.(
      `embedded mirror: registry ${registry.address}, packages http://${web.address}/ (${result.summary})`,
    );
    return { registry, web, seed: result, plan: await plan() };
  };

  return {
    dirs,
    seed,
    ensure() {
      if (stopping) return Promise.reject(new Error('embedded mirror already stopped'));
      started ??= start().catch(async (err: unknown) => {
        await Promise.all(servers.splice(0).map((s) => s.stop()));
        started = undefined;
        throw err;
      });
      return started;
    },
    async stop() {
      stopping = true;
      abort.abort();
      if (started !== undefined) await started.catch(() => undefined);
      await Promise.all(servers.splice(0).map((s) => s.stop()));
    },
  };
}
