/**
 * Connection credential files, in the seed's formats, as the runner keeps them in
 * `<config dir>/credentials/`:
 *
 *   {"auth_type": "Token Auth", "credentials": [{"tokenName": "...", "tokenValue": "..."}]}
 *   {"auth_type": "Basic Auth", "credentials": [{"username": "...", "password": "..."}]}
 *
 * Field names match case-insensitively, as the vendor decodes them with Go's JSON rules
 * (`"Auth_Type"`, `"TokenName"` work; when a name appears twice, the later one wins); a token name
 * given twice resolves to its last value, as the vendor's lookup map does. Parsed once per task
 * into a typed value. Values never appear in errors, logs or results.
 */
import { z } from 'zod';
import type { Credentials } from '../contracts/credentials.js';

const tokenAuthSchema = z.object({
  auth_type: z.literal('Token Auth'),
  credentials: z.array(z.object({ tokenName: z.string().min(1), tokenValue: z.string() })).min(1),
});

const basicAuthSchema = z.object({
  auth_type: z.literal('Basic Auth'),
  credentials: z.array(z.object({ username: z.string(), password: z.string() })).length(1),
});

export const credentialFileSchema = z.discriminatedUnion('auth_type', [tokenAuthSchema, basicAuthSchema]);

const FILE_FIELDS = ['auth_type', 'credentials', 'schemaId'] as const;
const ENTRY_FIELDS = ['tokenName', 'tokenValue', 'username', 'password'] as const;

/**
 * An object with its keys renamed to `fields` where they match case-insensitively (Go's
 * encoding/json), the last matching key winning; other keys are dropped, as Go drops them.
 */
function goFields(value: unknown, fields: readonly string[]): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const field = fields.find((f) => f === key) ?? fields.find((f) => f.toLowerCase() === key.toLowerCase());
    if (field !== undefined) out[field] = v;
  }
  return out;
}

/** The document with Go's field matching applied to the file and to each credentials entry. */
export function normaliseCredentialDocument(doc: unknown): unknown {
  const file = goFields(doc, FILE_FIELDS);
  if (file === null || typeof file !== 'object' || Array.isArray(file)) return file;
  const entries = (file as { credentials?: unknown }).credentials;
  if (!Array.isArray(entries)) return file;
  return { ...file, credentials: entries.map((e) => goFields(e, ENTRY_FIELDS)) };
}

/** Turns a parsed file into Credentials; returns a description of the problem (never a value) when malformed. */
export function toCredentials(raw: unknown): { ok: true; value: Credentials } | { ok: false; problem: string } {
  if (raw !== null && typeof raw === 'object' && (raw as { schemaId?: unknown }).schemaId === 'script-credentials-v1') {
    return { ok: true, value: { authType: 'Script Config' } };
  }
  const doc = normaliseCredentialDocument(raw);
  const parsed = credentialFileSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      problem: `${issue?.path.join('.') || 'file'}: ${issue?.code === 'invalid_union' ? 'auth_type must be "Token Auth" or "Basic Auth"' : (issue?.message ?? 'invalid')}`,
    };
  }
  const file = parsed.data;
  if (file.auth_type === 'Basic Auth') {
    const [entry] = file.credentials;
    if (entry === undefined) throw new Error('internal: Basic Auth credentials passed the schema without their one entry');
    return { ok: true, value: { authType: 'Basic Auth', username: entry.username, password: entry.password } };
  }
  const tokens: Record<string, string> = {};
  for (const t of file.credentials) tokens[t.tokenName] = t.tokenValue;
  return { ok: true, value: { authType: 'Token Auth', tokens: Object.freeze(tokens) } };
}

/** A token by name from Token Auth credentials; undefined when absent or not token auth. */
export function tokenValue(credentials: Credentials | undefined, name: string): string | undefined {
  return credentials?.authType === 'Token Auth' ? credentials.tokens[name] : undefined;
}
