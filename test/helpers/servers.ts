/** Loopback servers for tests: always stopped by pid in afterAll (see `stopAll`). */
import {
  startNginx,
  startRegistry,
  type LoopbackServer,
  type NginxOptions,
  type RegistryOptions,
} from '../../buildchain/sources/embedded/servers.ts';

export { freePort } from '../../buildchain/sources/embedded/servers.ts';

const running = new Set<LoopbackServer>();

function track(server: LoopbackServer): LoopbackServer {
  running.add(server);
  return server;
}

export async function startTestRegistry(opts: RegistryOptions): Promise<LoopbackServer> {
  return track(await startRegistry(opts));
}

export async function startTestNginx(opts: NginxOptions): Promise<LoopbackServer> {
  return track(await startNginx(opts));
}

/** Stops every server started through this module. */
export async function stopAll(): Promise<void> {
  const servers = [...running];
  running.clear();
  await Promise.all(servers.map((s) => s.stop()));
}
