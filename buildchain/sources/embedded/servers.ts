/**
 * Loopback servers the buildchain starts itself: a distribution registry (Debian
 * `docker-registry`) and a plain nginx. Both listen on 127.0.0.1 on a free port, run in their
 * own process group, and are stopped by pid (the whole group), always.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile, readFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import path from 'node:path';
import { startDetached, type DetachedProcess } from '../../engine/exec/detached.ts';
import { killGroup } from '../../engine/exec/process-group.ts';
import { nginxString } from '../../lib/text/quote.ts';

/** A running loopback server. */
export interface LoopbackServer {
  /** `127.0.0.1:PORT` */
  readonly address: string;
  readonly port: number;
  readonly pid: number;
  /** Stops the server's process group (SIGTERM, then SIGKILL after 3 s). Idempotent. */
  stop(): Promise<void>;
}

/** Returns a TCP port that was free on 127.0.0.1 a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => {
        resolve(port);
      });
    });
  });
}

/** True when something accepts TCP connections at `host:port` (e.g. `127.0.0.1:5000`). */
export function isAddressOpen(address: string): Promise<boolean> {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon);
  const port = Number(address.slice(colon + 1));
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => {
      resolve(false);
    });
  });
}

function isPortOpen(port: number): Promise<boolean> {
  return isAddressOpen(`127.0.0.1:${port}`);
}

export { killGroup };

/**
 * True while a live (non-zombie) process of the group led by `pid` exists. Zombies are ignored:
 * the children of a killed watchdog are reaped by init, sometimes a second later, and hold
 * neither ports nor files.
 */
export function isGroupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
  } catch {
    return false;
  }
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true; // no procfs: trust kill(0)
  }
  for (const entry of entries) {
    if (!/^[0-9]+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the parenthesised command: state ppid pgrp ...
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[2] === String(pid) && fields[0] !== 'Z') return true;
  }
  return false;
}

/**
 * Polls `check` until true or `timeoutMs`: every 5 ms for the first quarter second, then every
 * 50 ms (docker-registry listens ~40 ms after its start, nginx ~15 ms, and both are gone as
 * fast: a fixed 50 ms made each start or stop wait for the next tick).
 */
async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const start = Date.now();
  const deadline = start + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, Date.now() - start < 250 ? 5 : 50));
  }
  return false;
}

/**
 * Runs "$@" and exits with it; a background reader kills it when stdin reaches EOF (the parent
 * died). fd 3 keeps the pipe for the reader: asynchronous lists get /dev/null as stdin.
 */
const WATCHDOG =
  'exec 3<&0; "$@" 3<&- </dev/null & p=$!; { read -r _ <&3; kill "$p" 2>/dev/null; } & ' +
  'exec 3<&-; wait "$p"';

const exitKills = new Set<number>();
let exitHookInstalled = false;

/** Last resort: a synchronous SIGKILL of every running server group when this process exits. */
function registerExitKill(pid: number): void {
  exitKills.add(pid);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of exitKills) killGroup(p, 'SIGKILL');
  });
}

function unregisterExitKill(pid: number): void {
  exitKills.delete(pid);
}

/** Pids (process group leaders) of the servers this process started and has not stopped. */
export function runningServerPids(): number[] {
  return [...exitKills];
}

/** PATH for a server when the caller has none. */
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The whole environment of a loopback server: PATH (to find it), HOME and TMPDIR when set,
 * and the C locale. Nothing else of the caller's passes: docker-registry reads `REGISTRY_*`
 * variables as overrides of its configuration (auth, address, storage) and Go's HTTP client
 * honours `*_proxy`, so a variable set for something else would reconfigure the server.
 */
export function serverEnv(from: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: from.PATH ?? DEFAULT_PATH, LANG: 'C', LC_ALL: 'C' };
  for (const key of ['HOME', 'TMPDIR'] as const) {
    const value = from[key];
    if (value !== undefined && value !== '') env[key] = value;
  }
  return env;
}

/** Options for {@link startProcessServer}. */
interface ProcessServerOptions {
  readonly argv: readonly string[];
  readonly port: number;
  /** Log file receiving stdout+stderr. */
  readonly logFile: string;
  readonly what: string;
  readonly startTimeoutMs?: number;
}

async function startProcessServer(opts: ProcessServerOptions): Promise<LoopbackServer> {
  if (opts.argv.length === 0) throw new Error('empty argv');
  const { openSync, closeSync } = await import('node:fs');
  const fd = openSync(opts.logFile, 'a');
  let child: DetachedProcess;
  try {
    // A watchdog shell leads the group: it reads its stdin (a pipe only this process holds)
    // and kills the server when that pipe closes, so the server dies with this process even on
    // SIGKILL, when no exit handler can run.
    child = startDetached(['sh', '-c', WATCHDOG, 'watchdog', ...opts.argv], {
      outputFd: fd,
      env: serverEnv(),
    });
  } finally {
    closeSync(fd);
  }
  const { spawnError, exited, pid } = child;
  if (pid !== undefined) registerExitKill(pid);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped || pid === undefined) return;
    stopped = true;
    killGroup(pid, 'SIGTERM');
    // The leader (the watchdog) ends when the server does: its exit comes first, then one
    // scan of /proc usually finds the group gone (each scan reads every process's stat).
    let first: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise<void>((r) => (first = setTimeout(r, 3000)))]);
    clearTimeout(first);
    // Wait for the whole group (watchdog, server, workers), not just the leader: the port is
    // free only when the server itself is gone.
    if (!(await waitFor(() => Promise.resolve(!isGroupAlive(pid)), 3000))) {
      killGroup(pid, 'SIGKILL');
      await waitFor(() => Promise.resolve(!isGroupAlive(pid)), 2000);
    }
    // The leader is our child: once reaped (its exit event), its pid no longer exists.
    // This timer must stay referenced: the child is unref'd, so an unref'd timer would let the
    // event loop empty before the exit event arrives and end the process with exit code 13
    // (unsettled top-level await) while stop() is still awaited.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise<void>((r) => (timer = setTimeout(r, 1000)))]);
    clearTimeout(timer);
    unregisterExitKill(pid);
  };
  const ready = await Promise.race([
    waitFor(() => isPortOpen(opts.port), opts.startTimeoutMs ?? 10_000),
    spawnError.then(() => false),
    exited.then(() => false),
  ]);
  if (!ready || pid === undefined) {
    await stop();
    const log = await readFile(opts.logFile, 'utf8').catch(() => '');
    throw new Error(
      `${opts.what} did not start on 127.0.0.1:${opts.port} (${opts.argv.join(' ')}): ` +
        log.split('\n').slice(-10).join('\n'),
    );
  }
  return { address: `127.0.0.1:${opts.port}`, port: opts.port, pid, stop };
}

/** Options for {@link startRegistry}. */
export interface RegistryOptions {
  /** Directory for the registry's storage, config and log. */
  readonly dir: string;
  /** docker-registry binary (REGISTRY_BIN). */
  readonly bin?: string;
  readonly port?: number;
  /** An htpasswd file (bcrypt): basic auth required for every request. */
  readonly htpasswd?: string;
}

/** Starts a distribution registry (plain HTTP) on 127.0.0.1. */
export async function startRegistry(opts: RegistryOptions): Promise<LoopbackServer> {
  const port = opts.port ?? (await freePort());
  await mkdir(path.join(opts.dir, 'data'), { recursive: true });
  const configPath = path.join(opts.dir, 'config.yml');
  // Through the YAML library: the storage path (under BUILD_ROOT) may hold any character.
  const config = {
    version: '0.1',
    log: { level: 'warn', accesslog: { disabled: true } },
    storage: {
      filesystem: { rootdirectory: path.join(opts.dir, 'data') },
      delete: { enabled: true },
    },
    http: { addr: `127.0.0.1:${port}`, secret: 'metalk8s-buildchain-loopback' },
    ...(opts.htpasswd === undefined
      ? {}
      : { auth: { htpasswd: { realm: 'buildchain', path: opts.htpasswd } } }),
  };
  // yaml loads when a registry starts (not on every command's start-up).
  const { stringify } = await import('yaml');
  await writeFile(configPath, stringify(config));
  return startProcessServer({
    argv: [opts.bin ?? 'docker-registry', 'serve', configPath],
    port,
    logFile: path.join(opts.dir, 'registry.log'),
    what: 'docker-registry',
  });
}

/** Options for {@link startNginx}. */
export interface NginxOptions {
  /** Prefix directory for nginx's config, pid, logs and temp files. */
  readonly dir: string;
  /**
   * The body of the `server { }` block, without `listen`; e.g. `root /srv; autoindex on;` or
   * an `include` of a generated registry config.
   */
  readonly serverBody: string;
  /** Extra `http { }` level directives (e.g. `map`s). */
  readonly httpExtra?: string;
  readonly bin?: string;
  readonly port?: number;
  /** Main-context directives (e.g. `user root;` to serve a tree only root can read). */
  readonly mainExtra?: string;
}

/** Starts a foreground nginx on 127.0.0.1 with a private prefix. */
export async function startNginx(opts: NginxOptions): Promise<LoopbackServer> {
  const port = opts.port ?? (await freePort());
  const dir = path.resolve(opts.dir);
  for (const sub of ['logs', 'tmp']) await mkdir(path.join(dir, sub), { recursive: true });
  const conf = path.join(dir, 'nginx.conf');
  // The prefix (under BUILD_ROOT) is quoted with nginx escaping; a '$' in it is refused.
  const q = (file: string): string =>
    nginxString(
      path.join(dir, file),
      'nginx prefix directory',
      'choose a BUILD_ROOT without "$" or control characters',
    );
  await writeFile(
    conf,
    `daemon off;
worker_processes 1;
${opts.mainExtra ?? ''}
pid ${q('nginx.pid')};
error_log ${q('logs/error.log')} warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${q('tmp/body')};
  proxy_temp_path ${q('tmp/proxy')};
  fastcgi_temp_path ${q('tmp/fastcgi')};
  uwsgi_temp_path ${q('tmp/uwsgi')};
  scgi_temp_path ${q('tmp/scgi')};
  types { application/x-rpm rpm; application/xml xml; application/gzip gz; text/plain txt asc; }
  default_type application/octet-stream;
  sendfile on;
  ${opts.httpExtra ?? ''}
  server {
    listen 127.0.0.1:${port};
    ${opts.serverBody}
  }
}
`,
  );
  const bin = opts.bin ?? 'nginx';
  return startProcessServer({
    argv: [bin, '-p', dir, '-c', conf, '-e', path.join(dir, 'logs', 'error.log')],
    port,
    logFile: path.join(dir, 'logs', 'stdout.log'),
    what: 'nginx',
  });
}
