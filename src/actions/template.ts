/**
 * `{{ … }}` placeholders, with the vendor runner's semantics (its `tmpl` package: a Handlebars
 * lexer, paths only). Used by script argv elements and by HTTP connection header / URL-parameter
 * templates, so a config written for the vendor renders the same here.
 *
 * What parses:
 *  - dotted paths `{{ parameters.user.name }}`, bracket segments `{{ parameters.hosts.[1] }}` and
 *    `{{ parameters.[key with space] }}` (a bare number is not a segment: `hosts.1` is refused);
 *  - `{{~ x ~}}` and `{{& x }}` (accepted; the vendor strips no whitespace and escapes no HTML, and
 *    neither do we);
 *  - `\{{` keeps the braces literal (the backslash is dropped).
 * Refused when parsed (so at config load, never mid-task): unterminated `{{`, empty `{{ }}`,
 * `{{{ x }}}`, blocks (`{{#if}}`, `{{/if}}`, `{{^}}`, `{{else}}`), partials, comments, helpers with
 * arguments, literals, sub-expressions, `..` and `/` paths.
 *
 * Rendering (Go style, as the vendor prints values): strings as is; numbers in plain decimal, no
 * exponent, `-0` kept; booleans as `true`/`false`; objects and arrays as JSON with sorted keys and
 * no HTML escaping; `null` and a missing path as the empty string. Array segments are indices only
 * (`arr.length` is not a property). Lookups follow own properties only, never prototypes.
 */

export type TemplatePart =
  { readonly kind: 'text'; readonly text: string } | { readonly kind: 'path'; readonly path: readonly string[]; readonly source: string };

export type Template = readonly TemplatePart[];

export type ParseResult = { ok: true; template: Template } | { ok: false; problem: string };

/** Characters that end an identifier inside a mustache (Handlebars' lexer). */
const NOT_ID = new Set(' \n\t!"#%&\'()*+,./;<=>@[\\]^`{|}~');
const LOOKAHEAD = new Set([' ', '\n', '\t', '=', '~', '}', '/', ')', '|']);

/** How a mustache opens: accepted (`{{`, `{{~`, `{{&`, `{{~&`) or the construct that is refused. */
function openingAt(s: string, i: number): { length: number } | { refused: string } {
  const rest = s.slice(i, i + 16);
  if (rest.startsWith('{{{{')) return { refused: 'raw blocks ({{{{ }}}}) are not supported' };
  if (/^\{\{~?\{/.test(rest)) return { refused: 'triple-stash {{{ x }}} is not supported: use {{ x }} (nothing is HTML-escaped)' };
  if (/^\{\{~?!/.test(rest)) return { refused: 'comments are not supported' };
  if (/^\{\{~?[#/]/.test(rest)) return { refused: 'blocks ({{#…}}, {{/…}}) are not supported: only paths' };
  if (/^\{\{~?>/.test(rest)) return { refused: 'partials are not supported' };
  if (/^\{\{~?\^/.test(rest) || /^\{\{~?\s*else/.test(rest)) return { refused: 'inverse sections and else are not supported' };
  const m = /^\{\{~?&?/.exec(rest);
  if (m === null) throw new Error('internal: openingAt() called where no {{ opens');
  return { length: m[0].length };
}

/** Parses one template string. */
export function parseTemplate(source: string): ParseResult {
  const parts: TemplatePart[] = [];
  let text = '';
  let i = 0;
  const fail = (pos: number, why: string): ParseResult => ({ ok: false, problem: `at ${pos}: ${why}` });
  while (i < source.length) {
    if (source.startsWith('\\{{', i) && source[i - 1] !== '\\') {
      // Escaped mustache: drop the backslash, keep every following brace as text.
      i += 1;
      while (source[i] === '{') text += source.charAt(i++);
      continue;
    }
    if (!source.startsWith('{{', i)) {
      text += source.charAt(i++);
      continue;
    }
    const open = openingAt(source, i);
    if ('refused' in open) return fail(i, open.refused);
    const start = i;
    i += open.length;
    const path: string[] = [];
    let afterSeparator = false;
    for (;;) {
      if (i >= source.length) return fail(start, 'unclosed expression (no closing }})');
      if (source.startsWith('}}}', i) || source.startsWith('}~}}', i)) return fail(i, 'triple-stash }}} is not supported');
      if (source.startsWith('}}', i) || source.startsWith('~}}', i)) {
        if (path.length === 0) return fail(i, 'empty expression');
        i += source.startsWith('~', i) ? 3 : 2;
        break;
      }
      const c = source.charAt(i);
      if (c === ' ' || c === '\t' || c === '\n') {
        i++;
        continue;
      }
      if (source.startsWith('..', i)) return fail(i, '".." paths are not supported');
      if (c === '.' && LOOKAHEAD.has(source[i + 1] ?? '')) {
        // A lone `.` (the current context) is an identifier in Handlebars.
        if (path.length > 0 && !afterSeparator) return fail(i, 'unexpected "."');
        path.push('.');
        afterSeparator = false;
        i++;
        continue;
      }
      if (c === '.' || c === '/') {
        if (path.length === 0 || c === '/') return fail(i, `unexpected "${c}"`);
        afterSeparator = true;
        i++;
        continue;
      }
      let segment: string;
      if (c === '[') {
        const end = source.indexOf(']', i);
        const newline = source.indexOf('\n', i);
        if (end < 0 || (newline >= 0 && newline < end)) return fail(i, 'unterminated [segment]');
        segment = source.slice(i, end + 1);
        i = end + 1;
      } else if (
        /^(true|false)/.test(source.slice(i)) &&
        [' ', '\n', '\t', '~', '}', ')'].includes(source[i + (source.startsWith('true', i) ? 4 : 5)] ?? '')
      ) {
        return fail(i, 'literals are not supported: only paths');
      } else if (c === '+' || c === '-' || (c >= '0' && c <= '9')) {
        return fail(i, 'numbers are not path segments: write [n] for an array index');
      } else if (NOT_ID.has(c)) {
        return fail(i, `unexpected character "${c}" (sub-expressions, strings, hashes and data variables are not supported)`);
      } else {
        let end = i;
        while (end < source.length && !NOT_ID.has(source.charAt(end))) end++;
        segment = source.slice(i, end);
        i = end;
      }
      if (path.length > 0 && !afterSeparator) return fail(i, 'helpers and arguments are not supported: only one path per {{ }}');
      path.push(segment);
      afterSeparator = false;
    }
    if (text.length > 0) parts.push({ kind: 'text', text });
    text = '';
    parts.push({ kind: 'path', path: path.map(unbracket), source: source.slice(start, i) });
  }
  if (text.length > 0 || parts.length === 0) parts.push({ kind: 'text', text });
  return { ok: true, template: parts };
}

function unbracket(segment: string): string {
  return segment.length >= 2 && segment.startsWith('[') && segment.endsWith(']') ? segment.slice(1, -1) : segment;
}

export function hasPaths(template: Template): boolean {
  return template.some((p) => p.kind === 'path');
}

/** The paths a template reads, in order. */
export function templatePaths(template: Template): Array<readonly string[]> {
  return template.flatMap((p) => (p.kind === 'path' ? [p.path] : []));
}

/** Go's strconv.Atoi on a segment: optional sign, decimal digits only. */
function arrayIndex(segment: string, length: number): number | undefined {
  if (!/^[+-]?\d+$/.test(segment)) return undefined;
  const n = Number(segment);
  return Number.isSafeInteger(n) && n >= 0 && n < length ? n : undefined;
}

/** The value at `path`, or undefined when the path leads nowhere. */
export function lookupPath(root: unknown, path: readonly string[]): unknown {
  let current: unknown = root;
  for (const segment of path) {
    if (Array.isArray(current)) {
      const index = arrayIndex(segment, current.length);
      if (index === undefined) return undefined;
      current = current[index];
    } else if (current !== null && typeof current === 'object' && Object.hasOwn(current, segment)) {
      current = (current as Record<string, unknown>)[segment];
    } else {
      return undefined;
    }
  }
  return current;
}

/** A number as Go's strconv.FormatFloat(v, 'f', -1, 64): shortest round-trip digits, never an exponent. */
export function plainDecimal(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Object.is(n, -0)) return '-0';
  const text = String(n);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!m) return text;
  const [, sign, lead, frac = '', expText] = m;
  const digits = `${lead}${frac}`;
  const exp = Number(expText);
  if (exp >= 0) return `${sign}${digits.padEnd(exp + 1, '0')}`;
  return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
}

/** JSON as Go's encoder writes it with SetEscapeHTML(false): sorted keys, U+2028/2029 escaped. */
export function goJson(value: unknown): string {
  const walk = (v: unknown): string => {
    if (v === null || v === undefined) return 'null';
    if (typeof v === 'number') return Number.isFinite(v) ? (Object.is(v, -0) ? '-0' : JSON.stringify(v)) : 'null';
    if (typeof v === 'string')
      return JSON.stringify(v)
        .replace(/\u2028/g, '\\u2028')
        .replace(/\u2029/g, '\\u2029');
    if (typeof v === 'boolean') return v ? 'true' : 'false';
    if (Array.isArray(v)) return `[${v.map(walk).join(',')}]`;
    if (typeof v === 'object') {
      const keys = Object.keys(v).sort();
      return `{${keys.map((k) => `${walk(k)}:${walk((v as Record<string, unknown>)[k])}`).join(',')}}`;
    }
    return 'null';
  };
  return walk(value);
}

/** A looked-up value as text, the way the vendor prints it. */
export function printValue(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return plainDecimal(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'object') return goJson(value);
  // What is left (bigint, symbol, function) prints as String() makes it; nothing else reaches here.
  return typeof value === 'bigint' || typeof value === 'symbol' || typeof value === 'function' ? String(value) : '';
}

/** Renders with `resolve` deciding each path's text (throw from it to refuse a lookup). */
export function renderWith(template: Template, resolve: (part: Extract<TemplatePart, { kind: 'path' }>) => string): string {
  let out = '';
  for (const part of template) out += part.kind === 'text' ? part.text : resolve(part);
  return out;
}

/** Renders against a context object; a missing path or null prints as the empty string. */
export function renderTemplate(template: Template, context: unknown): string {
  return renderWith(template, (part) => printValue(lookupPath(context, part.path)));
}
