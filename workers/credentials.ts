/**
 * Reads a connection's credential file from the runner's config dir. The path comes from the
 * signed task, but a compromised control plane must still not make a worker read files outside
 * the config dir, so the resolved path (after symlinks) must stay inside it. Errors name the file,
 * never its contents (a JSON parse message would quote them).
 */
import { open, realpath } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { isAbsolute, relative, resolve } from 'node:path';
import type { ResolvedCredentials } from '../machines/task-lifecycle/task-lifecycle.actors.js';
import { toCredentials } from '../src/actions/credentials.js';
import { ParError } from '../src/errors/par-error.js';

/** Credential files are small; a bigger one is a mistake (or an attack on memory). */
export const MAX_CREDENTIAL_FILE_BYTES = 1024 * 1024;

function inside(root: string, candidate: string): boolean {
  const rel = relative(root, candidate);
  return rel.length > 0 && !rel.startsWith('..') && !isAbsolute(rel);
}

function unavailable(credentialPath: string, reason: string): ParError {
  return new ParError('PAR_ERR_CREDENTIALS_UNAVAILABLE', `${credentialPath}: ${reason}`);
}

export async function readCredentialFile(configDir: string, credentialPath: string): Promise<ResolvedCredentials> {
  const root = resolve(configDir);
  const candidate = resolve(root, credentialPath);
  if (!inside(root, candidate)) throw unavailable(credentialPath, 'path is outside the config dir');
  let real: string;
  let realRoot: string;
  try {
    [real, realRoot] = await Promise.all([realpath(candidate), realpath(root)]);
  } catch (error) {
    throw unavailable(credentialPath, (error as NodeJS.ErrnoException).code ?? 'cannot be resolved');
  }
  if (!inside(realRoot, real)) throw unavailable(credentialPath, 'path leads outside the config dir');
  let handle;
  let text: string;
  try {
    handle = await open(real, 'r');
    const { size } = await handle.stat();
    if (size > MAX_CREDENTIAL_FILE_BYTES) throw unavailable(credentialPath, `larger than ${MAX_CREDENTIAL_FILE_BYTES} bytes`);
    text = await handle.readFile('utf8');
  } catch (error) {
    if (error instanceof ParError) throw error;
    throw unavailable(credentialPath, (error as NodeJS.ErrnoException).code ?? 'unreadable');
  } finally {
    await handle?.close();
  }
  let doc: unknown;
  try {
    // YAML is a superset of JSON: one parser reads both formats.
    doc = parseYaml(text);
  } catch {
    throw unavailable(credentialPath, 'not valid JSON or YAML');
  }
  const credentials = toCredentials(doc);
  if (!credentials.ok) throw unavailable(credentialPath, credentials.problem);
  return credentials.value;
}
