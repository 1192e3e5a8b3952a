/**
 * `.env` files: the known keys and their defaults come from `.env.example` (every `KEY=value`
 * line, commented out or not); `.env` may only set known keys. Pure parsing, no disk access.
 */
import { UsageError } from '../engine/failures.ts';
import { closestNames } from '../engine/suggest.ts';

/** One `KEY=value` assignment with the line it came from (1-based). */
export interface EnvAssignment {
  readonly key: string;
  readonly value: string;
  readonly line: number;
}

const KEY_RE = /^[A-Z][A-Z0-9_]*$/;
const EXAMPLE_RE = /^#?\s?(?:export\s+)?([A-Z][A-Z0-9_]*)=(.*)$/;

/** Known keys of `.env.example` with their default values ('' when none). */
export function parseEnvExample(text: string): Map<string, string> {
  const keys = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const m = EXAMPLE_RE.exec(raw.trim());
    if (m?.[1] === undefined) continue;
    if (keys.has(m[1])) continue;
    let value = (m[2] ?? '').trim();
    try {
      value = unquote(value, raw, 0, '.env.example');
    } catch {
      // A documentation line with an odd quote: keep its text as the default.
    }
    keys.set(m[1], value);
  }
  return keys;
}

/**
 * Parses a `.env` file: `KEY=value`, `export KEY=value`, '#' comments, blank lines, values
 * optionally in single or double quotes. Throws `invalid-env` naming the file and line.
 */
export function parseEnvFile(text: string, fileName: string): EnvAssignment[] {
  const out: EnvAssignment[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const body = line.startsWith('export ') ? line.slice(7).trimStart() : line;
    const eq = body.indexOf('=');
    const key = eq < 0 ? body : body.slice(0, eq).trim();
    if (eq < 0 || !KEY_RE.test(key)) {
      throw new UsageError(
        'invalid-env',
        `${fileName}:${i + 1}: malformed line ${JSON.stringify(line)} (expected KEY=value)`,
        'keys are upper case (A-Z, 0-9, _); see .env.example',
      );
    }
    const value = unquote(body.slice(eq + 1).trim(), line, i + 1, fileName);
    out.push({ key, value, line: i + 1 });
  }
  return out;
}

function unquote(value: string, line: string, lineNo: number, fileName: string): string {
  const q = value[0];
  if (q === '"' || q === "'") {
    const end = value.indexOf(q, 1);
    const rest = end < 0 ? '' : value.slice(end + 1).trim();
    if (end < 0 || (rest !== '' && !rest.startsWith('#'))) {
      throw new UsageError(
        'invalid-env',
        `${fileName}:${lineNo}: unbalanced quotes in ${JSON.stringify(line)}`,
      );
    }
    const inner = value.slice(1, end);
    return q === '"' ? inner.replace(/\\(["\\$`])/g, '$1').replace(/\\n/g, '\n') : inner;
  }
  // An unquoted value ends at ' #' (inline comment).
  const hash = value.search(/\s#/);
  return (hash < 0 ? value : value.slice(0, hash)).trim();
}

/** Rejects keys of `.env` that `.env.example` does not list, suggesting the closest ones. */
export function checkKnownKeys(
  assignments: readonly EnvAssignment[],
  known: ReadonlyMap<string, string>,
  fileName: string,
): void {
  for (const a of assignments) {
    if (known.has(a.key)) continue;
    const close = closestNames(a.key, [...known.keys()]);
    throw new UsageError(
      'invalid-env',
      `${fileName}:${a.line}: unknown key ${a.key}`,
      close.length > 0
        ? `did you mean ${close.join(', ')}? Known keys are listed in .env.example`
        : 'known keys are listed in .env.example',
    );
  }
}
