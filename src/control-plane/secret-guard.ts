/**
 * The control plane never accepts a secret: connection settings hold only where and how to
 * connect, the secret stays in the credential file on the runner. A request whose body carries a
 * secret-looking key anywhere is refused before anything is stored (the value is never echoed).
 *
 * Header and URL-parameter templates (`headers`, `urlParams`) are name -> value data, not
 * settings: there a sensitive name (Authorization, X-Api-Key...) is fine as long as its value is
 * a `{{ tokenName }}` template filled on the runner, and refused when it is a literal value.
 */
import { ParError } from '../errors/par-error.js';

// Normalised (lower case, letters and digits only) fragments of key names that hold secrets.
const SECRET_WORDS = ['password', 'passwd', 'secret', 'token', 'apikey', 'privatekey', 'credentials', 'clientkey'];
const SENSITIVE_HEADER_WORDS = [...SECRET_WORDS, 'authorization', 'cookie', 'key', 'auth', 'signature'];
const TEMPLATE_FIELDS = new Set(['headers', 'urlparams']);
const TEMPLATE = /\{\{\s*[^{}\s]+\s*\}\}/;
const MAX_DEPTH = 20;

function normalise(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, '');
}

function isSecretKey(key: string): boolean {
  const k = normalise(key);
  return SECRET_WORDS.some((w) => k.includes(w));
}

/** A literal (non-template) value under a sensitive header or URL-parameter name. */
function literalSensitive(name: unknown, value: unknown): boolean {
  if (typeof name !== 'string' || typeof value !== 'string') return false;
  const n = normalise(name);
  return SENSITIVE_HEADER_WORDS.some((w) => n.includes(w)) && !TEMPLATE.test(value);
}

function checkTemplates(value: unknown, path: string): string | undefined {
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const pair = item as { key?: unknown; value?: unknown } | null;
      if (pair && typeof pair === 'object' && literalSensitive(pair.key, pair.value)) return `${path}.${i}.value`;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    for (const [name, v] of Object.entries(value)) if (literalSensitive(name, v)) return `${path}.${name}`;
  }
  return undefined;
}

/** The path of the first secret-looking field in `value`, if any. */
export function findSecretPath(value: unknown, path = '', depth = 0): string | undefined {
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return undefined;
  const entries: [string, unknown][] = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
  for (const [key, child] of entries) {
    const here = path ? `${path}.${key}` : key;
    if (!Array.isArray(value)) {
      if (TEMPLATE_FIELDS.has(normalise(key))) {
        const found = checkTemplates(child, here);
        if (found) return found;
        continue;
      }
      if (isSecretKey(key)) return here;
    }
    const found = findSecretPath(child, here, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** Throws 400 PAR_ERR_SECRET_REFUSED naming the field (never its value). */
export function refuseSecrets(body: unknown): void {
  const path = findSecretPath(body);
  if (path !== undefined) throw new ParError('PAR_ERR_SECRET_REFUSED', `field ${path}`);
}
