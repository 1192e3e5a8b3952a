/**
 * A small reader of nginx configuration text, after ngx_conf_read_token: words, quoted strings
 * (with nginx's escapes), `;`, `{`, `}` and `#` comments. Tests use it to see the directives a
 * generated config really holds (e.g. how many `location` blocks), whatever its layout.
 */

/** One directive: its words (quotes removed, escapes applied) and how it ended. */
export interface NginxDirective {
  readonly words: readonly string[];
  /** `{` opens a block, `;` ends a simple directive. */
  readonly end: '{' | ';';
  /** Number of enclosing blocks. */
  readonly depth: number;
}

/** nginx's escapes inside a quoted string: `\"`, `\'`, `\\`, `\t`, `\r`, `\n`; others kept. */
function unescape(body: string): string {
  return body.replace(
    /\\(["'\\trn])/g,
    (_m, c: string) => (({ t: '\t', r: '\r', n: '\n' }) as Record<string, string>)[c] ?? c,
  );
}

/** Reads a quoted string starting at `i` (on the quote); returns its value and the next index. */
function readQuoted(text: string, i: number): { value: string; next: number } {
  const quote = text.charAt(i);
  let j = i + 1;
  while (j < text.length && text.charAt(j) !== quote) j += text.charAt(j) === '\\' ? 2 : 1;
  if (j >= text.length) throw new Error(`unterminated ${quote} string at ${i}`);
  const after = text.charAt(j + 1);
  if (after !== '' && !/[\s;{})]/.test(after))
    throw new Error(`unexpected ${JSON.stringify(after)} after a quoted string at ${j + 1}`);
  return { value: unescape(text.slice(i + 1, j)), next: j + 1 };
}

/** Reads a bare word starting at `i`; `${name}` stays part of the word, as in nginx. */
function readWord(text: string, i: number): { value: string; next: number } {
  let j = i;
  while (j < text.length) {
    const c = text.charAt(j);
    if (/\s/.test(c) || c === ';' || c === '{' || c === '}' || c === '"' || c === "'") {
      if (c === '{' && text.charAt(j - 1) === '$') {
        const close = text.indexOf('}', j);
        if (close < 0) throw new Error(`unterminated \${ at ${j}`);
        j = close + 1;
        continue;
      }
      break;
    }
    j += 1;
  }
  return { value: text.slice(i, j), next: j };
}

/** Every directive of `text`, in order; throws on what nginx would reject as unbalanced. */
export function nginxDirectives(text: string): NginxDirective[] {
  const out: NginxDirective[] = [];
  let words: string[] = [];
  let depth = 0;
  let i = 0;
  while (i < text.length) {
    const c = text.charAt(i);
    if (/\s/.test(c)) i += 1;
    else if (c === '#') i = text.indexOf('\n', i) < 0 ? text.length : text.indexOf('\n', i);
    else if (c === ';' || c === '{') {
      if (words.length === 0) throw new Error(`unexpected ${c} at ${i}`);
      out.push({ words, end: c, depth });
      if (c === '{') depth += 1;
      words = [];
      i += 1;
    } else if (c === '}') {
      if (words.length > 0 || depth === 0) throw new Error(`unexpected } at ${i}`);
      depth -= 1;
      i += 1;
    } else {
      const w = c === '"' || c === "'" ? readQuoted(text, i) : readWord(text, i);
      words.push(w.value);
      i = w.next;
    }
  }
  if (words.length > 0 || depth !== 0) throw new Error('unexpected end of the configuration');
  return out;
}

/** The arguments of every `location` block of `text` (e.g. `['=', '/v2/']`). */
export function nginxLocations(text: string): string[][] {
  return nginxDirectives(text)
    .filter((d) => d.words[0] === 'location' && d.end === '{')
    .map((d) => d.words.slice(1));
}
