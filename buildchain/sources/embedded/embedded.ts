/**
 * The embedded mirror at run time: seeds (incrementally) then starts a distribution registry
 * and an nginx on 127.0.0.1 free ports, each once (single-flight) and only when first asked
 * for: a build whose image pulls and package tasks were all restored from the build cache
 * starts neither, one that only pulls images starts the registry only. Stops them by pid.
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

/** The seeded content (no server needed to read it). */
export interface MirrorContent {
  readonly seed: SeedResult;
  readonly plan: MirrorPlan;
}

/** A lazily started embedded mirror. */
export interface EmbeddedMirror {
  readonly dirs: MirrorDirs;
  /** Seeds and starts both servers on the first call; later calls share the same promise. */
  ensure(): Promise<MirrorEndpoints>;
  /** Seeds (once), starting no server: the image digests and the plan. */
  content(): Promise<MirrorContent>;
  /** Seeds, then starts the registry alone on the first call (single-flight). */
  registry(): Promise<LoopbackServer>;
  /** Seeds, then starts nginx alone on the first call (single-flight). */
  web(): Promise<LoopbackServer>;
  /** Which servers were started (and not stopped): for tests and logs. */
  started(): { readonly registry: boolean; readonly web: boolean };
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

  // The seed result, once: the servers' starts and the digests share it.
  let content: Promise<MirrorContent> | undefined;
  const seeded = (): Promise<MirrorContent> => {
    content ??= (async () => ({ seed: await seed(), plan: await plan() }))().catch(
      (err: unknown) => {
        content = undefined;
        throw err;
      },
    );
    return content;
  };

  /** One server, started once on first use; a failed start is tried again by the next use. */
  const lazyServer = (what: string, launch: () => Promise<LoopbackServer>) => {
    let starting: Promise<LoopbackServer> | undefined;
    let up = false;
    return {
      get: (): Promise<LoopbackServer> => {
        if (stopping) return Promise.reject(new Error('embedded mirror already stopped'));
        starting ??= (async () => {
          await seeded();
          abort.signal.throwIfAborted();
          const server = await launch();
          servers.push(server);
          up = true;
          opts.log?.(`embedded mirror: ${what} ${server.address}`);
          return server;
        })().catch((err: unknown) => {
          starting = undefined;
          throw err;
        });
        return starting;
      },
      isUp: () => up && !stopping,
      /** Resolves when a start in progress has settled. */
      settled: () =>
        starting?.then(
          () => undefined,
          () => undefined,
        ),
    };
  };

  const registryServer = lazyServer('registry', () =>
    startRegistry({ dir: dirs.registry, bin: bins.registry }),
  );
  // As root, nginx workers run as nobody and could not read a BUILD_ROOT under /root.
  const webServer = lazyServer('packages on nginx', () => {
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    return startNginx({
      dir: dirs.nginx,
      bin: bins.nginx,
      serverBody: `root ${nginxString(path.resolve(dirs.www), 'BUILD_ROOT', RPM_PATH_FIX)};\n    autoindex on;`,
      mainExtra: isRoot ? 'user root;' : '',
    });
  });

  return {
    dirs,
    seed,
    content: seeded,
    registry: registryServer.get,
    web: webServer.get,
    started: () => ({ registry: registryServer.isUp(), web: webServer.isUp() }),
    async ensure() {
      const [registry, web, c] = await Promise.all([
        registryServer.get(),
        webServer.get(),
        seeded(),
      ]);
      return { registry, web, seed: c.seed, plan: c.plan };
    },
    async stop() {
      stopping = true;
      abort.abort();
      await Promise.all([registryServer.settled(), webServer.settled()]);
      await Promise.all(servers.splice(0).map((s) => s.stop()));
    },
  };
}
