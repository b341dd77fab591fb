/**
 * Reads a connection's credential file from the runner's config dir. The path comes from the
 * signed task, but a compromised control plane must still not make a worker read files outside
 * the config dir, so the resolved path (after symlinks) must stay inside it. Errors name the file,
 * never its contents (a JSON parse message would quote them).
 */
import { readFile, realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import type { ResolvedCredentials } from '../machines/task-lifecycle/task-lifecycle.actors.js';
import { ParError } from '../src/errors/par-error.js';

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
  let text: string;
  try {
    text = await readFile(real, 'utf8');
  } catch (error) {
    throw unavailable(credentialPath, (error as NodeJS.ErrnoException).code ?? 'unreadable');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw unavailable(credentialPath, 'not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw unavailable(credentialPath, 'not a JSON object');
  return parsed as ResolvedCredentials;
}
