// The JSON API client of the page. The application key lives in sessionStorage (this tab only)
// and goes out as the DD-APPLICATION-KEY header; no cookie is ever involved.

const KEY_STORAGE = 'par.appKey';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }

  /** The key itself is wrong (not merely lacking a permission): ask for another one. */
  get badKey() {
    return this.status === 401 || this.code === 'PAR_ERR_AUTH_APP_KEY_INVALID';
  }

  /** 403 for a valid key that may not do this. */
  get forbidden() {
    return this.status === 403 && !this.badKey;
  }

  /**
   * The route does not exist on this control plane (its not-found handler names the method
   * and path), as opposed to a missing resource: the page hides the feature instead of failing.
   */
  get missingRoute() {
    return this.status === 404 && /\b(GET|POST|PUT|PATCH|DELETE) \/api\/v1\//.test(this.message);
  }
}

export function storedKey() {
  return sessionStorage.getItem(KEY_STORAGE) ?? '';
}

export function storeKey(key) {
  sessionStorage.setItem(KEY_STORAGE, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_STORAGE);
}

/** Calls `/api/v1${path}`; resolves with the parsed body, rejects with an ApiError. */
export async function api(method, path, body) {
  const key = storedKey();
  if (!key) throw new ApiError(401, 'PAR_ERR_AUTH_APP_KEY_INVALID', 'No application key entered.');
  const headers = { 'DD-APPLICATION-KEY': key, accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
      credentials: 'omit',
    });
  } catch {
    throw new ApiError(0, 'NETWORK', 'The control plane did not answer. Check that it is running, then retry.');
  }
  const text = await res.text();
  let data;
  try {
    data = text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (!res.ok) {
    const code = typeof data?.code === 'string' ? data.code : `HTTP_${res.status}`;
    const message = typeof data?.message === 'string' ? data.message : `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, code, message);
  }
  return data;
}

/** Like `api`, but a route this control plane lacks yields `undefined` instead of an error. */
export async function optionalApi(method, path, body) {
  try {
    return await api(method, path, body);
  } catch (error) {
    if (error instanceof ApiError && error.missingRoute) return undefined;
    throw error;
  }
}

export const enc = encodeURIComponent;
