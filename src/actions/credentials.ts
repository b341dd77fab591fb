/**
 * Connection credential files, in the seed's formats, as the runner keeps them in
 * `<config dir>/credentials/`:
 *
 *   {"auth_type": "Token Auth", "credentials": [{"tokenName": "...", "tokenValue": "..."}]}
 *   {"auth_type": "Basic Auth", "credentials": [{"username": "...", "password": "..."}]}
 *
 * Parsed once per task into a typed value. Values never appear in errors, logs or results.
 */
import { z } from 'zod';

const tokenAuthSchema = z.object({
  auth_type: z.literal('Token Auth'),
  credentials: z.array(z.object({ tokenName: z.string().min(1), tokenValue: z.string() })).min(1),
});

const basicAuthSchema = z.object({
  auth_type: z.literal('Basic Auth'),
  credentials: z.array(z.object({ username: z.string(), password: z.string() })).length(1),
});

export const credentialFileSchema = z.discriminatedUnion('auth_type', [tokenAuthSchema, basicAuthSchema]);

export type Credentials =
  | { readonly authType: 'Token Auth'; readonly tokens: Readonly<Record<string, string>> }
  | { readonly authType: 'Basic Auth'; readonly username: string; readonly password: string }
  /** A script connection's file (`schemaId: script-credentials-v1`): the script bundle reads and checks it itself. */
  | { readonly authType: 'Script Config' };

/** Turns a parsed file into Credentials; returns a description of the problem (never a value) when malformed. */
export function toCredentials(doc: unknown): { ok: true; value: Credentials } | { ok: false; problem: string } {
  if (doc !== null && typeof doc === 'object' && (doc as { schemaId?: unknown }).schemaId === 'script-credentials-v1') {
    return { ok: true, value: { authType: 'Script Config' } };
  }
  const parsed = credentialFileSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, problem: `${issue?.path.join('.') || 'file'}: ${issue?.code === 'invalid_union' ? 'auth_type must be "Token Auth" or "Basic Auth"' : issue?.message ?? 'invalid'}` };
  }
  const file = parsed.data;
  if (file.auth_type === 'Basic Auth') {
    const [entry] = file.credentials;
    return { ok: true, value: { authType: 'Basic Auth', username: entry!.username, password: entry!.password } };
  }
  const tokens: Record<string, string> = {};
  for (const t of file.credentials) tokens[t.tokenName] = t.tokenValue;
  return { ok: true, value: { authType: 'Token Auth', tokens: Object.freeze(tokens) } };
}

/** A token by name from Token Auth credentials; undefined when absent or not token auth. */
export function tokenValue(credentials: Credentials | undefined, name: string): string | undefined {
  return credentials?.authType === 'Token Auth' ? credentials.tokens[name] : undefined;
}
