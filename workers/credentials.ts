/**
 * Reads a connection's credential file from the runner's config dir. The path comes from the
 * signed task, but a compromised control plane (or a contributor who re-aims a connection) must
 * still not make a worker read files outside the config dir, nor hang it on a FIFO: the file goes
 * through `readConfigFile` (path confined, regular file, 1 MiB, read with a deadline). Errors
 * name the file, never its contents (a JSON parse message would quote them).
 */
import { parse as parseYaml } from 'yaml';
import type { ResolvedCredentials } from '../machines/task-lifecycle/task-lifecycle.actors.js';
import { MAX_CONFIG_FILE_BYTES, readConfigFile } from '../src/actions/config-file.js';
import { toCredentials } from '../src/actions/credentials.js';
import { ParError } from '../src/errors/par-error.js';

/** Credential files are small; a bigger one is a mistake (or an attack on memory). */
export const MAX_CREDENTIAL_FILE_BYTES = MAX_CONFIG_FILE_BYTES;

function unavailable(credentialPath: string, reason: string): ParError {
  return new ParError('PAR_ERR_CREDENTIALS_UNAVAILABLE', `${credentialPath}: ${reason}`);
}

export async function readCredentialFile(configDir: string, credentialPath: string, signal?: AbortSignal): Promise<ResolvedCredentials> {
  const { text } = await readConfigFile({
    configDir,
    path: credentialPath,
    confine: true,
    failCode: 'PAR_ERR_CREDENTIALS_UNAVAILABLE',
    maxBytes: MAX_CREDENTIAL_FILE_BYTES,
    signal,
  });
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
