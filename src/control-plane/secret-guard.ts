/**
 * The control plane never accepts a secret: connection settings hold only where and how to
 * connect, the secret stays in the credential file on the runner. A body that carries something
 * secret-looking anywhere is refused (400 PAR_ERR_SECRET_REFUSED naming the field, never the
 * value) before anything is stored. The rules, at any depth (the walk is iterative):
 *
 *  1. Keys. A key is split into words (separators and camelCase) and normalised (lower case,
 *     letters and digits only). Refused: a key containing password, passwd, passphrase, secret,
 *     token, apikey, privatekey, sshkey, accesskey, clientkey, signingkey, sessionkey,
 *     credentials, authorization, bearer or cookie; or having a word pwd, pw or pass.
 *  2. Values (every string). Refused: an auth-scheme literal (`Bearer abc`, `Basic dXNl…`, also
 *     `Bearer abc{{ t }}`: after the scheme only a template may follow); a PEM private key block;
 *     userinfo in a URL or DSN (`https://u:p@host`, `postgres://u@h/db`: any `scheme://…@`); a
 *     libpq-style `password=`; well-known token shapes (sk_live_…, ghp_…, xoxb-…, AKIA…, JWTs).
 *  3. Templates next to literals. A string mixing `{{ name }}` with literal text is fine unless
 *     the literal itself looks like a secret: a run of 20+ token characters holding both letters
 *     and digits (`{{ t }}sk9f8a7...`), or any of rule 2.
 *  4. Header and URL-parameter templates (`headers`, `urlParams`, at any depth; `[{key, value}]`
 *     or `{name: value}`): a sensitive name (Authorization, Cookie, X-Api-Key, anything with
 *     key/auth/token/secret/password/session/signature) may only carry a pure template,
 *     optionally after a known scheme: `{{ t }}`, `Bearer {{ t }}`, `Basic {{ t }}` (the documented
 *     seed usage). Any other value there is refused.
 *  5. Depth. A value nested deeper than the limit cannot be checked, so it is refused.
 */
import { ParError } from '../errors/par-error.js';
import { MAX_JSON_DEPTH } from './input-limits.js';

const SECRET_KEY_FRAGMENTS = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'token',
  'apikey',
  'privatekey',
  'sshkey',
  'accesskey',
  'clientkey',
  'signingkey',
  'sessionkey',
  'credentials',
  'authorization',
  'bearer',
  'cookie',
];
const SECRET_KEY_WORDS = new Set(['pwd', 'pw', 'pass']);
const SENSITIVE_NAME_FRAGMENTS = [...SECRET_KEY_FRAGMENTS, 'key', 'auth', 'signature', 'session', 'pass'];
const TEMPLATE_FIELDS = new Set(['headers', 'urlparams']);

/** Auth schemes that may precede a template under a sensitive header. */
const SCHEMES = 'bearer|basic|token|digest|apikey|api-key|key|bot|ssws|geniekey|negotiate';
const TEMPLATE_SOURCE = String.raw`\{\{\s*[^{}\s]+\s*\}\}`;
const TEMPLATE = new RegExp(TEMPLATE_SOURCE, 'g');
const PURE_TEMPLATE_VALUE = new RegExp(String.raw`^\s*(?:(?:${SCHEMES})\s+)?${TEMPLATE_SOURCE}\s*$`, 'i');
const SCHEME_LITERAL = new RegExp(String.raw`^\s*(?:${SCHEMES}|ntlm)\s+(\S.*)$`, 'is');
const PEM_PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----/;
const URL_USERINFO = /[a-z][a-z0-9+.-]*:\/\/[^\s/?#@]*@/i;
const KEYWORD_PASSWORD = /(?:^|[\s;&?])(?:password|passwd|pwd)\s*=/i;
const KNOWN_TOKENS =
  /(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{6,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|glpat-[A-Za-z0-9_-]{16,}|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{30,}|eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+/;
const TOKEN_RUN = /[A-Za-z0-9+/=_-]{20,}/g;
const LEADING_SCHEME = new RegExp(String.raw`^\s*(?:${SCHEMES})\s+`, 'i');

function normalise(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, '');
}

function words(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
}

export function isSecretKey(key: string): boolean {
  const k = normalise(key);
  return SECRET_KEY_FRAGMENTS.some((w) => k.includes(w)) || words(key).some((w) => SECRET_KEY_WORDS.has(w));
}

function isSensitiveName(name: string): boolean {
  const n = normalise(name);
  return SENSITIVE_NAME_FRAGMENTS.some((w) => n.includes(w)) || words(name).some((w) => SECRET_KEY_WORDS.has(w));
}

function looksLikeToken(literal: string): boolean {
  for (const run of literal.match(TOKEN_RUN) ?? []) if (/[A-Za-z]/.test(run) && /[0-9]/.test(run)) return true;
  return false;
}

/** Why a string value looks like a secret, or undefined. */
export function secretValueReason(value: string): string | undefined {
  if (PEM_PRIVATE_KEY.test(value)) return 'a private key';
  if (URL_USERINFO.test(value)) return 'userinfo (user or password) in a URL or DSN';
  if (KEYWORD_PASSWORD.test(value)) return 'a password in a connection string';
  if (KNOWN_TOKENS.test(value)) return 'a token';
  const scheme = SCHEME_LITERAL.exec(value);
  if (scheme && (scheme[1] ?? '').replace(TEMPLATE, '').trim().length > 0)
    return 'a literal credential after an auth scheme (only a {{ template }} may follow it)';
  if (value.replace(TEMPLATE, '') !== value) {
    const literal = value.replace(LEADING_SCHEME, '').replace(TEMPLATE, ' ');
    if (looksLikeToken(literal)) return 'a secret-looking literal next to a template';
  }
  return undefined;
}

interface Pending {
  value: unknown;
  path: string;
  depth: number;
}

/** Name/value pairs of a `headers` / `urlParams` field, plus anything inside it that is not a pair. */
function templatePairs(value: unknown, path: string, depth: number): { pairs: [string, unknown, string][]; rest: Pending[] } {
  const pairs: [string, unknown, string][] = [];
  const rest: Pending[] = [];
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      const p = `${path}.${i}`;
      const pair = item as { key?: unknown; value?: unknown } | null;
      if (pair && typeof pair === 'object' && !Array.isArray(pair) && typeof pair.key === 'string') {
        pairs.push([pair.key, pair.value, `${p}.value`]);
        for (const [k, v] of Object.entries(pair))
          if (k !== 'key' && k !== 'value') rest.push({ value: { [k]: v }, path: p, depth: depth + 1 });
      } else {
        rest.push({ value: item, path: p, depth: depth + 1 });
      }
    });
  } else if (value !== null && typeof value === 'object') {
    for (const [name, v] of Object.entries(value)) pairs.push([name, v, `${path}.${name}`]);
  } else {
    rest.push({ value, path, depth });
  }
  return { pairs, rest };
}

export interface SecretFinding {
  path: string;
  reason: string;
}

/** The first secret-looking field in `value`, if any (iterative; refuses what is too deep). */
export function findSecret(value: unknown, maxDepth: number = MAX_JSON_DEPTH): SecretFinding | undefined {
  const stack: Pending[] = [{ value, path: '', depth: 0 }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { value: v, path, depth } = next;
    if (typeof v === 'string') {
      const reason = secretValueReason(v);
      if (reason) return { path: path || '(root)', reason };
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (depth >= maxDepth) return { path: path || '(root)', reason: `nested deeper than ${maxDepth} levels, too deep to check` };
    if (Array.isArray(v)) {
      v.forEach((child, i) => stack.push({ value: child, path: path ? `${path}.${i}` : String(i), depth: depth + 1 }));
      continue;
    }
    for (const [key, child] of Object.entries(v)) {
      const here = path ? `${path}.${key}` : key;
      if (TEMPLATE_FIELDS.has(normalise(key))) {
        const { pairs, rest } = templatePairs(child, here, depth + 1);
        for (const [name, pairValue, pairPath] of pairs) {
          if (
            isSensitiveName(name) &&
            !(typeof pairValue === 'string' && (pairValue.trim() === '' || PURE_TEMPLATE_VALUE.test(pairValue)))
          ) {
            return {
              path: pairPath,
              reason: `a literal value under the sensitive name ${JSON.stringify(name.slice(0, 60))} (only {{ template }} or "<scheme> {{ template }}")`,
            };
          }
          stack.push({ value: pairValue, path: pairPath, depth: depth + 2 });
        }
        stack.push(...rest);
        continue;
      }
      if (isSecretKey(key)) return { path: here, reason: 'a secret-looking key' };
      stack.push({ value: child, path: here, depth: depth + 1 });
    }
  }
  return undefined;
}

/** Throws 400 PAR_ERR_SECRET_REFUSED naming the field and why (never its value). */
export function refuseSecrets(body: unknown): void {
  const found = findSecret(body);
  if (found !== undefined) throw new ParError('PAR_ERR_SECRET_REFUSED', `field ${found.path}: ${found.reason}`);
}
