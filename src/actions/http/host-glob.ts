/**
 * Host allowlist globs, with the glob syntax the vendor's allowlist takes (no separators, so `*`
 * matches dots too): `*` any run of characters, `?` one character, `[abc]` / `[a-z]` / `[!a-z]` one
 * character of (or not of) a class, `{a,b}` alternatives (nestable), `\x` a literal `x`. Hosts and
 * patterns are compared in lower case. An invalid pattern is a start-up error here, where the
 * vendor panics.
 */

export type HostGlobResult = { ok: true; test: (host: string) => boolean } | { ok: false; problem: string };

function escapeRegExp(c: string): string {
  return c.replace(/[.+?^${}()|[\]\\*\-/]/g, '\\$&');
}

class GlobError extends Error {}

/** Translates from `i` until one of `stops` (at depth > 0) or the end; returns [regexp, next index]. */
function translate(p: string, i: number, inBraces: boolean): [string, number] {
  let out = '';
  while (i < p.length) {
    const c = p.charAt(i);
    if (inBraces && (c === ',' || c === '}')) return [out, i];
    if (c === '\\') {
      if (i + 1 >= p.length) throw new GlobError('a trailing \\ escapes nothing');
      out += escapeRegExp(p.charAt(i + 1));
      i += 2;
    } else if (c === '*') {
      out += '.*';
      i++;
    } else if (c === '?') {
      out += '.';
      i++;
    } else if (c === '[') {
      const end = p.indexOf(']', i + 2);
      if (end < 0) throw new GlobError(`unclosed [ at ${i}`);
      let body = p.slice(i + 1, end);
      const negate = body.startsWith('!');
      if (negate) body = body.slice(1);
      if (body.length === 0) throw new GlobError(`empty class at ${i}`);
      const parts = body.replace(/[\\\]^]/g, '\\$&');
      out += `[${negate ? '^' : ''}${parts}]`;
      i = end + 1;
    } else if (c === '{') {
      const alternatives: string[] = [];
      let j = i + 1;
      for (;;) {
        const [alt, next] = translate(p, j, true);
        alternatives.push(alt);
        if (next >= p.length) throw new GlobError(`unclosed { at ${i}`);
        j = next + 1;
        if (p[next] === '}') break;
      }
      out += `(?:${alternatives.join('|')})`;
      i = j;
    } else if (c === '}' && !inBraces) {
      throw new GlobError(`unmatched } at ${i}`);
    } else {
      out += escapeRegExp(c);
      i++;
    }
  }
  return [out, i];
}

export function compileHostGlob(pattern: string): HostGlobResult {
  try {
    const [source] = translate(pattern.toLowerCase(), 0, false);
    const re = new RegExp(`^${source}$`, 's');
    return { ok: true, test: (host) => re.test(host.toLowerCase()) };
  } catch (error) {
    if (error instanceof GlobError || error instanceof SyntaxError) return { ok: false, problem: `"${pattern}": ${error.message}` };
    throw error;
  }
}
