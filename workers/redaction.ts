/**
 * Secrets never come back: before a task's result, error or log line leaves the worker, every
 * credential value resolved for that task is replaced with "[redacted]". One place, driven by the
 * credentials the lifecycle resolved (the worker's resolveCredentials actor adds them), not by
 * each bundle: a target that echoes a header, a script that prints its input, an API server that
 * quotes a token in its error all end up here.
 *
 * What counts as a secret value:
 *  - Token Auth: every token value, except tokens whose name says they are an address, not a
 *    secret (host, port, user, database, sslmode...: PostgreSQL connection parameters; GitLab's
 *    baseURL, which every GitLab answer quotes in its web_url fields; srvHost,
 *    authSource, authMechanism, tls: MongoDB's);
 *  - Basic Auth: the password, and `user:pass` (the username alone is not a secret).
 * Values shorter than MIN_SECRET_LENGTH (4) characters are not redacted: they would shred every
 * output they happen to occur in, and a 3-character secret protects nothing anyway.
 *
 * Forms searched for each value: the raw value, its URL encodings (encodeURIComponent and the
 * form encoding URLSearchParams writes), its JSON string escape, its base64 and base64url; for
 * Basic Auth also base64 of `user:pass` (the Authorization header value). Longest forms are
 * replaced first. Strings are searched everywhere in the outcome: output values and keys, at any
 * depth (deeper than MAX_DEPTH a subtree is replaced whole), error messages. The number of
 * replacements is reported as the outcome's `redactions`.
 */
import type { Logger } from '../src/logging/logger.js';
import type { Credentials } from '../src/contracts/credentials.js';

export const REDACTED = '[redacted]';
export const MIN_SECRET_LENGTH = 4;
const MAX_DEPTH = 256;

/** Token names that hold connection addresses, not secrets. */
const NON_SECRET_TOKEN_NAMES: ReadonlySet<string> = new Set([
  'host',
  'hostname',
  'port',
  'user',
  'username',
  'database',
  'dbname',
  'db',
  'sslmode',
  'schema',
  'applicationname',
  'searchpath',
  // Jenkins (issue 13): the controller's URL, echoed in build URLs.
  'domain',
  // GitLab (issue 13): the server address; a baseURL with userinfo is refused by the bundle.
  'baseurl',
  // MongoDB connection settings (short common words such as "admin" or "true" would otherwise be
  // cut out of every result).
  'srvhost',
  'authsource',
  'authmechanism',
  'tls',
]);

function forms(value: string): string[] {
  const out = new Set<string>([value]);
  out.add(encodeURIComponent(value));
  out.add(new URLSearchParams({ v: value }).toString().slice(2));
  out.add(JSON.stringify(value).slice(1, -1));
  const b64 = Buffer.from(value, 'utf8').toString('base64');
  out.add(b64);
  out.add(b64.replace(/=+$/, ''));
  out.add(Buffer.from(value, 'utf8').toString('base64url'));
  return [...out].filter((f) => f.length >= MIN_SECRET_LENGTH);
}

/** The secrets of one task, and the redaction of everything that leaves the worker for it. */
export class TaskSecrets {
  private patterns: string[] = [];
  private count = 0;

  /** Adds the values of resolved credentials (see the header for which). */
  addCredentials(credentials: Credentials | undefined): void {
    if (!credentials) return;
    const values: string[] = [];
    if (credentials.authType === 'Token Auth') {
      for (const [name, value] of Object.entries(credentials.tokens)) {
        if (!NON_SECRET_TOKEN_NAMES.has(name.toLowerCase())) values.push(value);
      }
    } else if (credentials.authType === 'Basic Auth') {
      values.push(credentials.password);
      if (credentials.password.length > 0) values.push(`${credentials.username}:${credentials.password}`);
    }
    this.addValues(values);
  }

  addValues(values: readonly string[]): void {
    const all = new Set(this.patterns);
    for (const value of values) {
      if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH) continue;
      for (const f of forms(value)) all.add(f);
    }
    // Longest first: a form that contains another is replaced whole.
    this.patterns = [...all].sort((a, b) => b.length - a.length);
  }

  get empty(): boolean {
    return this.patterns.length === 0;
  }

  /** How many replacements were made so far (outcome, error and thrown messages). */
  get redactions(): number {
    return this.count;
  }

  /** Redacts one string; `counted: false` for log lines, which are not part of the outcome. */
  string(text: string, counted = true): string {
    if (this.patterns.length === 0 || text.length < MIN_SECRET_LENGTH) return text;
    let out = text;
    for (const pattern of this.patterns) {
      if (!out.includes(pattern)) continue;
      const parts = out.split(pattern);
      if (counted) this.count += parts.length - 1;
      out = parts.join(REDACTED);
    }
    return out;
  }

  /** A copy of a JSON-like value with every string (and key) redacted. */
  value<T>(input: T, counted = true): T {
    if (this.patterns.length === 0) return input;
    return this.walk(input, 0, counted) as T;
  }

  private walk(input: unknown, depth: number, counted: boolean): unknown {
    if (typeof input === 'string') return this.string(input, counted);
    if (input === null || typeof input !== 'object') return input;
    if (depth >= MAX_DEPTH) {
      if (counted) this.count += 1;
      return `${REDACTED} (nested too deep to check)`;
    }
    if (Array.isArray(input)) return input.map((item) => this.walk(item, depth + 1, counted));
    if (Buffer.isBuffer(input) || ArrayBuffer.isView(input)) return this.string(Buffer.from(input as Uint8Array).toString('utf8'), counted);
    if (input instanceof Error) {
      const code = (input as { code?: unknown }).code;
      return { type: input.name, message: this.string(input.message, counted), ...(typeof code === 'string' ? { code } : {}) };
    }
    // toJSON first (Date, URL...): the value is serialised to the results queue as JSON anyway.
    const plain = typeof (input as { toJSON?: unknown }).toJSON === 'function' ? (input as { toJSON(): unknown }).toJSON() : input;
    if (plain !== input) return this.walk(plain, depth + 1, counted);
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(input as Record<string, unknown>)) {
      out[this.string(key, counted)] = this.walk(item, depth + 1, counted);
    }
    return out;
  }
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;

/**
 * A task logger whose lines are redacted too: merged objects through pino's `formatters.log`,
 * message strings by wrapping the level methods. The secrets are read at each call, so the
 * logger can be made before the credentials are resolved.
 */
export function redactingLogger(logger: Logger, secrets: TaskSecrets): Logger {
  const child = logger.child({}, { formatters: { log: (object: object) => secrets.value(object, false) } });
  for (const level of LEVELS) {
    const original: (...args: unknown[]) => void = child[level].bind(child);
    (child as unknown as Record<string, unknown>)[level] = (...args: unknown[]) =>
      original(...args.map((a) => (typeof a === 'string' ? secrets.string(a, false) : a)));
  }
  return child;
}
