/**
 * `{{ parameters.x }}` placeholders in a script's argv elements. Lookups only: a placeholder is a
 * dotted path into the task's `parameters` object (`{{ parameters.user.name }}`,
 * `{{ parameters.hosts.0 }}`), never an expression, filter or call. Parsing happens once, when
 * the config is loaded, so a malformed placeholder is a config error, not a task error.
 *
 * Only `{{ parameters... }}` is a placeholder; any other `{{ ... }}` is literal text, so commands
 * that take Go templates (`docker inspect -f '{{.State.Status}}'`) keep working.
 *
 * Rendering: a string value is inserted as is; any other value (number, boolean, null, object,
 * array) is inserted as its JSON text. A path that leads nowhere is an error, never an empty
 * string: silently dropping an argument changes what a command does.
 *
 * The rendered strings become argv elements handed to the kernel directly (no shell), so nothing
 * in a value is ever interpreted by us.
 */

export type TemplatePart =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'lookup'; readonly path: readonly string[]; readonly source: string };

export type Template = readonly TemplatePart[];

/** Anything that starts like a parameters placeholder, up to the closing braces. */
const PLACEHOLDER = /\{\{\s*parameters\b(.*?)\}\}/gs;
const LOOKUP_TAIL = /^((?:\.[A-Za-z0-9_-]+)+)\s*$/;

export type ParseResult = { ok: true; template: Template } | { ok: false; problem: string };

export function parseTemplate(element: string): ParseResult {
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const match of element.matchAll(PLACEHOLDER)) {
    const tail = LOOKUP_TAIL.exec(match[1] ?? '');
    if (!tail?.[1]) {
      return { ok: false, problem: `"${match[0]}" is not a lookup like {{ parameters.name }} (only dotted paths are supported)` };
    }
    if (match.index > last) parts.push({ kind: 'text', text: element.slice(last, match.index) });
    const path = tail[1].slice(1).split('.');
    parts.push({ kind: 'lookup', path, source: `parameters.${path.join('.')}` });
    last = match.index + match[0].length;
  }
  if (last < element.length || parts.length === 0) parts.push({ kind: 'text', text: element.slice(last) });
  return { ok: true, template: parts };
}

export function hasLookups(template: Template): boolean {
  return template.some((p) => p.kind === 'lookup');
}

/** The names of the top-level parameters a template reads. */
export function lookupRoots(template: Template): string[] {
  return template.flatMap((p) => (p.kind === 'lookup' && p.path[0] !== undefined ? [p.path[0]] : []));
}

export type RenderResult = { ok: true; value: string } | { ok: false; problem: string };

function lookup(parameters: unknown, path: readonly string[]): { found: true; value: unknown } | { found: false } {
  let current: unknown = parameters;
  for (const key of path) {
    // Own properties only: `parameters.constructor` or `__proto__` must not reach prototypes.
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key)) return { found: false };
    current = (current as Record<string, unknown>)[key];
  }
  return current === undefined ? { found: false } : { found: true, value: current };
}

export function renderTemplate(template: Template, parameters: Readonly<Record<string, unknown>>): RenderResult {
  let out = '';
  for (const part of template) {
    if (part.kind === 'text') {
      out += part.text;
      continue;
    }
    const found = lookup(parameters, part.path);
    if (!found.found) return { ok: false, problem: `${part.source} is not set` };
    out += typeof found.value === 'string' ? found.value : JSON.stringify(found.value);
  }
  return { ok: true, value: out };
}
