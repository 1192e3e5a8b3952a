/**
 * Values written into another language — nginx configs, RPM specs and macros, shell words,
 * Jinja templates — go through this module: quoted with that language's escaping, or rejected
 * with a `TaskError('invalid-input')` naming the value, where it comes from and the fix when
 * the language cannot carry them (nginx expands `$` in strings, rpm expands `%` everywhere).
 * Image names, tags and digests are checked against the distribution grammar
 * (`distribution-names.ts`) before they reach an nginx location or a registry path.
 */
import { TaskError } from '../errors.ts';
import {
  isDigest,
  isRepositoryName,
  isTag,
  MAX_REPOSITORY_NAME_CHARS,
} from './distribution-names.ts';

/** C0 and C1 control characters, DEL, and the Unicode line/paragraph separators. */
const CONTROL = /[\p{Cc}\u2028\u2029]/u;
/** A UTF-16 surrogate without its pair (not writable as UTF-8). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
/** A Jinja expression the generators keep verbatim: `{{ name }}` or `{{ a.b }}`, nothing else. */
const TEMPLATE_PIECE = /\{\{ *[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)* *\}\}/y;
/** An nginx variable reference: `$name` or `${name}`. */
const NGINX_VARIABLE = /\$(?:\{[A-Za-z_]\w*\}|[A-Za-z_]\w*)/y;
/** Characters rpm and its build shell carry in a path: no space, quote, `$`, `%`, `\`, glob. */
const RPM_PATH = /^[\p{L}\p{N}\p{M}._+,:@=/-]+$/u;
const NOT_RPM_PATH_CHAR = /[^\p{L}\p{N}\p{M}._+,:@=/-]/u;
/** RPM `Name:` (as config/packages.ts accepts it). */
const RPM_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
/** RPM `Version:` / `Release:`: no dash, no space. */
const RPM_VERSION = /^[A-Za-z0-9._+~^]+$/;

/** Names a character for a message: `'$'`, `a newline`, `U+0007`. */
export function describeChar(c: string): string {
  if (c === '\n') return 'a newline';
  if (c === '\r') return 'a carriage return';
  if (c === '\t') return 'a tab';
  if (c === ' ') return 'a space';
  const code = c.codePointAt(0) ?? 0;
  if (CONTROL.test(c) || (code >= 0xd800 && code <= 0xdfff)) {
    return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return `'${c}'`;
}

/** `what=value` for a setting (`BUILD_ROOT`), `what "value"` otherwise; long values cut. */
function show(what: string, value: string): string {
  const shown = JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
  return /^[A-Z][A-Z0-9_]*$/.test(what) ? `${what}=${shown}` : `${what} ${shown}`;
}

/** Throws the `invalid-input` TaskError of a value `what` that fails a language's rules. */
export function rejectValue(what: string, value: string, problem: string, fix: string): never {
  throw new TaskError('invalid-input', `${show(what, value)} ${problem}`, { hint: fix });
}

/** The first control character or lone surrogate of `value`, if any. */
function firstUnprintable(value: string): string | undefined {
  return CONTROL.exec(value)?.[0] ?? LONE_SURROGATE.exec(value)?.[0];
}

/** Rejects control characters, newlines and lone surrogates (no config language carries them). */
export function requirePrintable(value: string, what: string, fix: string): string {
  const bad = firstUnprintable(value);
  if (bad !== undefined)
    rejectValue(
      what,
      value,
      `holds ${describeChar(bad)}, which a generated config cannot carry`,
      fix,
    );
  return value;
}

// ---- nginx ---------------------------------------------------------------------------------

/** Escapes `\` and the quote character for an nginx quoted string (no quotes added). */
function nginxEscape(literal: string, quote: '"' | "'"): string {
  return literal.replace(quote === '"' ? /[\\"]/g : /[\\']/g, (c) => `\\${c}`);
}

function checkNginxLiteral(literal: string, whole: string, what: string, fix: string): void {
  requirePrintable(literal, what, fix);
  if (literal.includes('$')) {
    rejectValue(what, whole, "holds '$', which nginx expands as a variable in strings", fix);
  }
}

/**
 * `value` as one nginx quoted string (`"…"`, or `'…'`), `\` and the quote escaped. Rejects `$`
 * (nginx would expand `$host` from the request) and control characters.
 */
export function nginxString(
  value: string,
  what: string,
  fix: string,
  quote: '"' | "'" = '"',
): string {
  checkNginxLiteral(value, value, what, fix);
  return `${quote}${nginxEscape(value, quote)}${quote}`;
}

/** Which pieces {@link nginxExpression} keeps verbatim. */
export interface NginxExpressionOptions {
  /** `$name` / `${name}` nginx variables (a server root set by Salt). */
  readonly variables?: boolean;
  /** `{{ name }}` Jinja expressions (a Solution's `registry-config.inc.j2`). */
  readonly templates?: boolean;
}

/** A piece of an nginx expression: literal text, or a variable / template kept verbatim. */
export interface ExpressionPiece {
  readonly kind: 'literal' | 'variable' | 'template';
  readonly text: string;
}

function matchAt(re: RegExp, value: string, at: number): string | undefined {
  re.lastIndex = at;
  return re.exec(value)?.[0];
}

/**
 * Splits `value` into literal text, nginx variables and Jinja pieces (as allowed by `o`).
 * A `{`, `}` or `$` that is not part of an allowed piece is rejected: in a literal it would
 * be a Jinja delimiter or an nginx variable.
 */
export function expressionPieces(
  value: string,
  what: string,
  fix: string,
  o: NginxExpressionOptions = {},
): ExpressionPiece[] {
  const pieces: ExpressionPiece[] = [];
  let literal = '';
  for (let i = 0; i < value.length;) {
    const template = o.templates === true ? matchAt(TEMPLATE_PIECE, value, i) : undefined;
    const variable =
      o.variables === true && template === undefined
        ? matchAt(NGINX_VARIABLE, value, i)
        : undefined;
    const piece = template ?? variable;
    if (piece !== undefined) {
      if (literal !== '') pieces.push({ kind: 'literal', text: literal });
      pieces.push({ kind: template !== undefined ? 'template' : 'variable', text: piece });
      literal = '';
      i += piece.length;
      continue;
    }
    const c = value.charAt(i);
    if (c === '{' || c === '}' || c === '$') {
      const allowed = [
        o.variables === true ? '$name' : '',
        o.templates === true ? '{{ name }}' : '',
      ].filter((s) => s !== '');
      rejectValue(
        what,
        value,
        `holds ${describeChar(c)}${allowed.length > 0 ? ` outside ${allowed.join(' or ')}` : ''}: ` +
          (c === '$'
            ? 'nginx would expand it as a variable'
            : 'a generated template would take it for a Jinja delimiter'),
        fix,
      );
    }
    literal += c;
    i += 1;
  }
  if (literal !== '') pieces.push({ kind: 'literal', text: literal });
  for (const p of pieces) if (p.kind === 'literal') checkNginxLiteral(p.text, value, what, fix);
  return pieces;
}

/**
 * `value` as one double-quoted nginx string where `$name` variables and `{{ name }}` Jinja
 * pieces (as allowed by `o`) are kept and every literal part is escaped.
 */
export function nginxExpression(
  value: string,
  what: string,
  fix: string,
  o: NginxExpressionOptions = {},
): string {
  const pieces = expressionPieces(value, what, fix, o);
  return `"${pieces.map((p) => (p.kind === 'literal' ? nginxEscape(p.text, '"') : p.text)).join('')}"`;
}

/** PCRE metacharacters (outside a character class). */
const REGEX_META = ['.', '^', '$', '|', '?', '*', '+', '(', ')', '[', ']', '{', '}'];

/**
 * `c` as a PCRE pattern inside a double-quoted nginx string matches it: a backslash before a
 * metacharacter; `\` as `\\\\` (nginx turns `\\` into `\` in a quoted string, PCRE `\\` into
 * `\`); `"` as `\"` (nginx's escape; PCRE needs none).
 */
function regexChar(c: string): string {
  if (c === '\\') return '\\\\\\\\';
  if (c === '"') return '\\"';
  return REGEX_META.includes(c) ? `\\${c}` : c;
}

/**
 * A Jinja string literal, in single quotes, escaped as Jinja reads them (Python's rules): `\\`,
 * `\'`, and `"` as `\x22` so that the template stays one nginx quoted string before rendering.
 */
function jinjaStringLiteral(value: string): string {
  return `'${value.replace(/[\\'"]/g, (c) => (c === '"' ? '\\x22' : `\\${c}`))}'`;
}

/**
 * Filters that make a Jinja expression's rendered value a literal of an nginx regex location:
 * `| string | replace(c, <c escaped>)` for `\` first (the later replacements add backslashes
 * that must stay single), then `"` and every PCRE metacharacter. Core Jinja only (no Salt
 * `regex_escape`): MetalK8s 2.4's Salt and python3-jinja2 render it alike.
 */
const JINJA_REGEX_FILTERS = ['\\', '"', ...REGEX_META]
  .map((c) => ` | replace(${jinjaStringLiteral(c)}, ${jinjaStringLiteral(regexChar(c))})`)
  .join('');

/**
 * `value` as a PCRE pattern matching it literally, for the inside of a double-quoted nginx
 * regex location (`location ~ "…"`). A `{{ name }}` Jinja piece is not known until MetalK8s
 * renders the template: it gets {@link JINJA_REGEX_FILTERS}, so that a rendered `a.b` matches
 * `a.b` only, not `aXb`.
 */
export function regexEscape(value: string): string {
  const out: string[] = [];
  for (let i = 0; i < value.length;) {
    const template = matchAt(TEMPLATE_PIECE, value, i);
    if (template !== undefined) {
      const expression = template.slice(2, -2).trim();
      out.push(`{{ ${expression} | string${JINJA_REGEX_FILTERS} }}`);
      i += template.length;
      continue;
    }
    out.push(regexChar(value.charAt(i)));
    i += 1;
  }
  return out.join('');
}

// ---- distribution grammar ------------------------------------------------------------------

const NAME_FIX =
  'image names are lowercase components [a-z0-9]+ joined by ".", "_", "__" or "-" (and "/" between components), ' +
  `at most ${MAX_REPOSITORY_NAME_CHARS} characters in all`;

/** Throws unless `value` is a repository name of the distribution grammar (≤ 255 characters). */
export function requireRepositoryName(value: string, what: string, fix = NAME_FIX): string {
  if (!isRepositoryName(value)) {
    const problem =
      value.length > MAX_REPOSITORY_NAME_CHARS
        ? `is ${value.length} characters, more than the ${MAX_REPOSITORY_NAME_CHARS} a registry repository name holds`
        : 'is not a repository name of the distribution grammar';
    rejectValue(what, value, problem, fix);
  }
  return value;
}

/** Throws unless `value` is a tag (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`). */
export function requireTag(value: string, what: string): string {
  if (!isTag(value)) {
    rejectValue(
      what,
      value,
      'is not a tag of the distribution grammar',
      'tags match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}',
    );
  }
  return value;
}

/** Throws unless `value` is `sha256:` and 64 lowercase hex digits. */
export function requireDigest(value: string, what: string): string {
  if (!isDigest(value))
    rejectValue(
      what,
      value,
      'is not a sha256 digest',
      'digests are sha256: and 64 lowercase hex digits',
    );
  return value;
}

// ---- shell ---------------------------------------------------------------------------------

/** One POSIX shell word: single-quoted (`'` written `'\''`) unless made of safe characters only. */
export function shellQuote(value: string): string {
  if (value.includes('\0'))
    throw new TaskError('internal-error', 'shellQuote: a NUL byte cannot be in a shell word');
  if (/^[A-Za-z0-9._,:+@%/=-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, "'\\''")}'`;
}

// ---- rpm -----------------------------------------------------------------------------------

/** Text for a spec or macro body where `%` stays literal (`%%`); newlines are rejected. */
export function rpmMacroEscape(value: string, what: string, fix: string): string {
  return requirePrintable(value, what, fix).replace(/%/g, '%%');
}

/**
 * Throws unless `value` is a path rpmbuild can carry: its macros insert paths into `sh`
 * scripts (some unquoted) and split command lines on spaces, and expand `%`. Letters, digits
 * and `._+,:@=/-` only.
 */
export function requireRpmPath(value: string, what: string, fix: string): string {
  if (!RPM_PATH.test(value)) {
    const bad = NOT_RPM_PATH_CHAR.exec(value)?.[0] ?? '';
    rejectValue(
      what,
      value,
      `holds ${value === '' ? 'nothing' : describeChar(bad)}, which rpmbuild cannot carry in a path (its build scripts are shell, its macros expand '%')`,
      fix,
    );
  }
  return value;
}

/** Throws unless `value` is an RPM name (`[A-Za-z0-9][A-Za-z0-9._+-]*`). */
export function requireRpmName(value: string, what: string): string {
  if (!RPM_NAME.test(value))
    rejectValue(what, value, 'is not an RPM name', 'RPM names match [A-Za-z0-9][A-Za-z0-9._+-]*');
  return value;
}

/** Throws unless `value` is an RPM version or release (`[A-Za-z0-9._+~^]+`, no dash). */
export function requireRpmVersion(value: string, what: string): string {
  if (!RPM_VERSION.test(value) || value.includes('..')) {
    rejectValue(
      what,
      value,
      'is not an RPM version or release',
      'versions and releases match [A-Za-z0-9._+~^]+ (no dash, no space, no "..")',
    );
  }
  return value;
}

/**
 * Throws unless `value` can be the body of `rpm --define 'name value'`: one printable line
 * without `%` (it would expand as a macro, `%(cmd)` runs a shell command).
 */
export function requireRpmMacroValue(
  name: string,
  value: string,
  what: string,
  fix: string,
): string {
  requirePrintable(value, what, fix);
  if (value.includes('%'))
    rejectValue(what, value, `holds '%', which rpm would expand in the macro ${name}`, fix);
  return value;
}
