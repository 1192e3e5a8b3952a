/**
 * Registry credentials and auth challenges: the containers auth file (as written by
 * `skopeo login` / `podman login` / `docker login`), its credential helpers (`credHelpers`,
 * `credsStore`). `WWW-Authenticate` parsing lives in lib/oci/auth-challenge.ts.
 */
import os from 'node:os';
import path from 'node:path';
import { readRegularText } from '../../lib/fs/read-bounded.ts';
import { TaskError } from '../../engine/task.ts';

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

/** Where an auth file says a host's credentials are. */
export type AuthSource =
  | { readonly kind: 'credentials'; readonly userPass: string }
  | { readonly kind: 'helper'; readonly helper: string; readonly key: 'credHelpers' | 'credsStore' };

interface AuthFileDoc {
  readonly auths?: Record<string, { auth?: unknown } | undefined>;
  readonly credHelpers?: Record<string, unknown>;
  readonly credsStore?: unknown;
}

/**
 * Where parsed auth-file JSON keeps `host`'s credentials (pure), as containers/image reads it:
 * a `credHelpers` entry for the host first, then an `auths` entry with `auth`, then the
 * `credsStore` helper (Docker's default store for every registry); undefined when none.
 */
export function authSourceFromJson(doc: unknown, host: string): AuthSource | undefined {
  if (typeof doc !== 'object' || doc === null) return undefined;
  const d = doc as AuthFileDoc;
  for (const key of hostKeys(host)) {
    const helper = d.credHelpers?.[key];
    if (typeof helper === 'string' && helper !== '') return { kind: 'helper', helper, key: 'credHelpers' };
  }
  for (const key of hostKeys(host)) {
    const auth = d.auths?.[key]?.auth;
    if (typeof auth === 'string' && auth !== '') {
      return { kind: 'credentials', userPass: Buffer.from(auth, 'base64').toString('utf8') };
    }
  }
  if (typeof d.credsStore === 'string' && d.credsStore !== '') {
    return { kind: 'helper', helper: d.credsStore, key: 'credsStore' };
  }
  return undefined;
}

/** `user:password` for a host from parsed auth-file JSON (pure), or undefined. */
export function credentialsFromAuthJson(doc: unknown, host: string): string | undefined {
  const source = authSourceFromJson(doc, host);
  return source?.kind === 'credentials' ? source.userPass : undefined;
}

/** Runs a credential helper; the registry client passes one that never logs its output. */
export type HelperRunner = (argv: readonly string[], input: string) => Promise<{ exitCode: number; stdout: string; stderr: string }>;

/** A credential helper that is not installed. */
class HelperMissingError extends TaskError {
  constructor(message: string, hint: string) {
    super('invalid-input', message, { hint });
  }
}

const HELPER_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * `user:password` from `docker-credential-<helper> get` (the Docker credential-helper
 * protocol: the server on stdin, `{"Username","Secret"}` on stdout); undefined when the helper
 * has no credentials for it. Other failures are `invalid-input` naming the helper and file.
 */
export async function credentialsFromHelper(
  helper: string,
  key: string,
  host: string,
  file: string,
  run: HelperRunner,
): Promise<string | undefined> {
  const where = `${key} "${helper}" of ${file}`;
  const hint = `check ${file} (REGISTRY_AUTH_FILE) and that docker-credential-${helper} is installed on PATH and works: echo ${host} | docker-credential-${helper} get`;
  if (!HELPER_NAME_RE.test(helper)) {
    throw new TaskError('invalid-input', `${where}: '${helper}' is not a credential helper name`, { hint });
  }
  let r: { exitCode: number; stdout: string; stderr: string };
  try {
    r = await run([`docker-credential-${helper}`, 'get'], host);
  } catch (err) {
    if (err instanceof TaskError && err.reason === 'aborted') throw err;
    const message = `credential helper docker-credential-${helper} (${where})`;
    if (err instanceof TaskError && err.reason === 'tool-not-found') {
      throw new HelperMissingError(`${message} is not on PATH`, hint);
    }
    throw new TaskError('invalid-input', `${message} cannot run: ${(err as Error).message}`, { hint });
  }
  if (r.exitCode !== 0) {
    if (/credentials not found/i.test(`${r.stdout}\n${r.stderr}`)) return undefined;
    const said = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-1)[0] ?? '';
    throw new TaskError('invalid-input', `credential helper docker-credential-${helper} (${where}) failed for ${host} (exit ${String(r.exitCode)}): ${said.slice(0, 200)}`, { hint });
  }
  let doc: { Username?: unknown; Secret?: unknown };
  try {
    doc = JSON.parse(r.stdout) as { Username?: unknown; Secret?: unknown };
  } catch {
    throw new TaskError('invalid-input', `credential helper docker-credential-${helper} (${where}) printed no JSON for ${host}`, { hint });
  }
  if (typeof doc.Username !== 'string' || typeof doc.Secret !== 'string') {
    throw new TaskError('invalid-input', `credential helper docker-credential-${helper} (${where}) printed no Username/Secret for ${host}`, { hint });
  }
  if (doc.Username === '<token>') {
    throw new TaskError('invalid-input', `credential helper docker-credential-${helper} (${where}) holds an identity token for ${host}, which this client does not support`, {
      hint: `log in with a user name and password or access token (skopeo login ${host}), or map ${host} to a mirror in REGISTRY_MIRRORS`,
    });
  }
  return `${doc.Username}:${doc.Secret}`;
}

const AUTH_FILE_HINT =
  'write it with `skopeo login --authfile FILE HOST` (or podman/docker login), or fix or unset REGISTRY_AUTH_FILE in .env';

/**
 * Reads and parses the auth file named by REGISTRY_AUTH_FILE; one that cannot be read or is
 * not a JSON object fails (`invalid-input`) naming the setting and the file.
 */
export async function checkAuthFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await Promise.resolve().then(() => readRegularText(file));
  } catch (err) {
    const why = err instanceof TaskError ? err.message : ((err as NodeJS.ErrnoException).code ?? String(err));
    throw new TaskError('invalid-input', `REGISTRY_AUTH_FILE=${file} cannot be read: ${why}`, { hint: AUTH_FILE_HINT });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new TaskError('invalid-input', `REGISTRY_AUTH_FILE=${file} is not JSON: ${(err as Error).message}`, { hint: AUTH_FILE_HINT });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new TaskError('invalid-input', `REGISTRY_AUTH_FILE=${file} is not a JSON object ({"auths": {...}})`, { hint: AUTH_FILE_HINT });
  }
  return doc;
}

/**
 * Credentials for `host`: from `authFile` (REGISTRY_AUTH_FILE: it must be readable JSON) when
 * given, else the first default auth file holding an entry for it, where missing or malformed
 * files are skipped (anonymous access). Credential helpers run through `run`.
 */
export async function findCredentials(host: string, authFile: string | undefined, run?: HelperRunner): Promise<string | undefined> {
  const docs: { file: string; doc: unknown }[] = [];
  const explicit = authFile !== undefined && authFile !== '';
  if (explicit) {
    docs.push({ file: authFile, doc: await checkAuthFile(authFile) });
  } else {
    for (const file of defaultAuthFiles()) {
      // Regular files only (a FIFO would block), of a sane size; anything else is skipped.
      const doc = await checkAuthFile(file).catch(() => undefined);
      if (doc !== undefined) docs.push({ file, doc });
    }
  }
  for (const { file, doc } of docs) {
    const source = authSourceFromJson(doc, host);
    if (source === undefined) continue;
    if (source.kind === 'credentials') return source.userPass;
    if (run === undefined) continue;
    try {
      return await credentialsFromHelper(source.helper, source.key, host, file, run);
    } catch (err) {
      // A default file naming a helper this machine lacks (a `credsStore` left by Docker
      // Desktop, say) means anonymous access; in REGISTRY_AUTH_FILE it is a mistake to report.
      if (explicit || !(err instanceof HelperMissingError)) throw err;
    }
  }
  return undefined;
}
