/**
 * Turns one catalogue row and the task's inputs into the HTTP request go-gitlab would send: path
 * placeholders filled with the URL-encoded inputs (`group/sub/project` -> `group%2Fsub%2Fproject`,
 * dots too, as gitlab.PathEscape does), the other inputs as the query string for GET/HEAD (arrays
 * as `key[]=v`, maps as `key[k]=v`) or as the JSON body otherwise. Pure: no I/O, tested alone.
 */
import { ParError } from '../../errors/par-error.js';
import { pathParams, type GitlabActionSpec, type GitlabMethod } from './catalogue.js';

export interface PlannedRequest {
  readonly method: GitlabMethod;
  readonly url: URL;
  /** JSON text, or undefined for no body. */
  readonly body: string | undefined;
}

/** gitlab.PathEscape: url.PathEscape plus `.` -> `%2E`. */
export function pathEscape(value: string | number): string {
  return encodeURIComponent(String(value)).replace(/\./g, '%2E');
}

function appendQuery(params: URLSearchParams, key: string, value: unknown): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    for (const v of value) appendQuery(params, `${key}[]`, v);
    return;
  }
  if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) appendQuery(params, `${key}[${k}]`, v);
    return;
  }
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- only primitives are left: objects and arrays are expanded above
  params.append(key, String(value));
}

/** The inputs minus the keys used elsewhere (path placeholders, special switches), undefined dropped. */
function rest(inputs: Record<string, unknown>, used: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(inputs)) if (!used.includes(k) && v !== undefined) out[k] = v;
  return out;
}

/** Inputs an action's `special` shape consumes itself (never sent as they are). */
const SPECIAL_INPUTS: Readonly<Record<string, readonly string[]>> = {
  rawBlob: ['decode'],
  rawFile: ['encoding'],
  archive: ['format'],
  projectOptions: ['options', 'name', 'path', 'default_branch', 'description'],
  graphql: ['query', 'variables'],
};

export function planRequest(spec: GitlabActionSpec, inputs: Record<string, unknown>, apiBase: URL): PlannedRequest {
  const params = pathParams(spec.path);
  let path = spec.path;
  for (const p of params) {
    const v = inputs[p];
    if ((typeof v !== 'string' || v === '') && typeof v !== 'number') throw new ParError('PAR_ERR_INPUT_INVALID', `${p} is required`);
    // `.` and `..` as a whole segment would be read as dot segments (even escaped): refuse them.
    if (typeof v === 'string' && /^\.{1,2}$/.test(v)) throw new ParError('PAR_ERR_INPUT_INVALID', `${p} may not be "." or ".."`);
    path = path.replace(`{${p}}`, pathEscape(v));
  }
  if (spec.special === 'archive' && typeof inputs['format'] === 'string' && inputs['format'] !== '') path += `.${inputs['format']}`;
  const url = spec.special === 'graphql' ? new URL('/api/graphql', apiBase) : new URL(path, apiBase);
  if (!url.pathname.startsWith(apiBase.pathname) && spec.special !== 'graphql') {
    throw new ParError('PAR_ERR_INPUT_INVALID', 'the request path leaves the GitLab API');
  }
  const others = rest(inputs, [...params, ...(spec.special ? (SPECIAL_INPUTS[spec.special] ?? []) : [])]);

  if (spec.special === 'graphql') {
    return {
      method: 'POST',
      url,
      body: JSON.stringify({ query: inputs['query'], ...(inputs['variables'] !== undefined ? { variables: inputs['variables'] } : {}) }),
    };
  }
  if (spec.special === 'projectOptions') {
    const options = (inputs['options'] ?? {}) as Record<string, unknown>;
    const body = {
      ...options,
      name: inputs['name'],
      path: inputs['path'],
      default_branch: inputs['default_branch'],
      description: inputs['description'],
    };
    return { method: spec.method, url, body: JSON.stringify(body) };
  }
  if (spec.method === 'GET' || spec.method === 'HEAD') {
    for (const [k, v] of Object.entries(others)) appendQuery(url.searchParams, k, v);
    return { method: spec.method, url, body: undefined };
  }
  return { method: spec.method, url, body: Object.keys(others).length > 0 ? JSON.stringify(others) : undefined };
}
