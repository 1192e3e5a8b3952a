/**
 * `WWW-Authenticate` challenges of registries (`Bearer realm="...",service="...",scope="..."`,
 * `Basic realm="..."`): the one parser shared by the upstream image client
 * (tasks/images/registry-client.ts) and the build cache's repository client. Pure.
 */

/** A parsed `WWW-Authenticate` challenge. */
export interface AuthChallenge {
  /** Lowercase scheme: `bearer` or `basic`. */
  readonly scheme: string;
  /** Parameters by lowercase name, quotes removed and escapes resolved. */
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
