/**
 * Registry credentials and auth challenges: the containers auth file (as written by
 * `skopeo login` / `podman login` / `docker login`) and `WWW-Authenticate` parsing.
 */
import os from 'node:os';
import path from 'node:path';
import { readRegularText } from '../../lib/fs/read-bounded.ts';

/** A parsed `WWW-Authenticate` challenge. */
export interface AuthChallenge {
  /** Lowercase scheme: `bearer` or `basic`. */
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/** Parses `Bearer realm="...",service="...",scope="..."` (pure). Undefined when empty. */
export function parseChallenge(header: string | undefined): AuthChallenge | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const m = /^\s*(\S+)\s*(.*)$/.exec(header);
  if (m === null) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (const p of (m[2] ?? '').matchAll(re)) {
    const key = p[1];
    if (key !== undefined) params[key.toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme: (m[1] ?? '').toLowerCase(), params };
}

/** Candidate auth files, in the order containers tools read them. */
export function defaultAuthFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const files: string[] = [];
  if (env.REGISTRY_AUTH_FILE !== undefined && env.REGISTRY_AUTH_FILE !== '') files.push(env.REGISTRY_AUTH_FILE);
  if (env.XDG_RUNTIME_DIR !== undefined && env.XDG_RUNTIME_DIR !== '') {
    files.push(path.join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  }
  files.push(path.join(env.HOME ?? os.homedir(), '.docker', 'config.json'));
  return files;
}

/** Keys under which an auth file may store a host's credentials. */
function hostKeys(host: string): string[] {
  const keys = [host, `https://${host}`, `http://${host}`, `https://${host}/v1/`, `https://${host}/v2/`];
  if (host === 'docker.io' || host === 'registry-1.docker.io' || host === 'index.docker.io') {
    keys.push('https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io');
  }
  return keys;
}

/** `user:password` for a host from parsed auth-file JSON (pure), or undefined. */
export function credentialsFromAuthJson(doc: unknown, host: string): string | undefined {
  if (typeof doc !== 'object' || doc === null) return undefined;
  const auths = (doc as { auths?: Record<string, { auth?: unknown }> }).auths;
  if (auths === undefined) return undefined;
  for (const key of hostKeys(host)) {
    const auth = auths[key]?.auth;
    if (typeof auth === 'string' && auth !== '') return Buffer.from(auth, 'base64').toString('utf8');
  }
  return undefined;
}

/**
 * Credentials for `host`: from `authFile` when given, else the first default auth file holding
 * an entry for it. Missing or unreadable files are skipped (anonymous access).
 */
export async function findCredentials(host: string, authFile?: string): Promise<string | undefined> {
  const files = authFile !== undefined && authFile !== '' ? [authFile] : defaultAuthFiles();
  for (const file of files) {
    // Regular files only (a FIFO would block), of a sane size; anything else is skipped.
    const text = await Promise.resolve()
      .then(() => readRegularText(file))
      .catch(() => undefined);
    if (text === undefined) continue;
    try {
      const creds = credentialsFromAuthJson(JSON.parse(text), host);
      if (creds !== undefined) return creds;
    } catch {
      // A malformed auth file is not ours to fix; fall through to anonymous access.
    }
  }
  return undefined;
}
