/**
 * What a connection must look like, and who may aim it. A connection that carries credentials is
 * bound to where they go: an HTTP connection with a credential file needs a `settings.baseUrl`
 * (http or https, no userinfo), so its token or Basic Auth is only ever sent to that origin.
 *
 * Aiming a connection (which credential file, which integration, which base URL, kubeconfig,
 * context, host or path it uses) decides where a secret goes, so it is editor work on the runner.
 * A contributor may use connections and change what does not re-aim them (the name, header
 * templates...). Creating a connection that carries credentials (a `credentialPath`, or a path-like
 * setting such as `kubeconfigPath`) is aiming too. Path-like settings must stay inside the runner's
 * config dir (no absolute path, no `..`); the worker checks again when it opens the file.
 */
import { CONFIG_RELATIVE_PATH_RULE, isConfigRelativePath, type RunnerAccess } from '../contracts/admin-api.js';
import { ParError } from '../errors/par-error.js';

export interface ConnectionShape {
  integration: string;
  settings: Record<string, unknown>;
  credentialPath?: string | undefined;
}

function normalise(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/** Settings keys that hold a file path on the runner (kubeconfigPath, caPath...). */
function isPathSetting(key: string): boolean {
  return normalise(key).endsWith('path');
}

/** Settings keys that decide where a connection points (its target). */
const TARGET_SETTING = /(path|file|url|uri|host|hostname|port|endpoint|server|cluster|context|dsn|origin|address)$/;
function isTargetSetting(key: string): boolean {
  return TARGET_SETTING.test(normalise(key));
}

function invalid(field: string, why: string): ParError {
  return new ParError('PAR_ERR_REQUEST_INVALID', `${field}: ${why}`);
}

/** Refuses (400 PAR_ERR_REQUEST_INVALID naming the field) a connection that breaks the rules above. */
export function checkConnectionShape(c: ConnectionShape): void {
  for (const [key, value] of Object.entries(c.settings)) {
    if (isPathSetting(key) && value !== undefined && value !== null && (typeof value !== 'string' || !isConfigRelativePath(value))) {
      throw invalid(`settings.${key}`, CONFIG_RELATIVE_PATH_RULE);
    }
  }
  if (c.integration !== 'http') return;
  const baseUrl = c.settings['baseUrl'];
  if (baseUrl === undefined || baseUrl === null) {
    if (c.credentialPath !== undefined)
      throw invalid('settings.baseUrl', 'required for an http connection with a credentialPath (credentials are only sent to that origin)');
    return;
  }
  let url: URL;
  try {
    if (typeof baseUrl !== 'string') throw new Error('not a string');
    url = new URL(baseUrl);
  } catch {
    throw invalid('settings.baseUrl', 'must be an absolute http or https URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('settings.baseUrl', 'must be an http or https URL');
  if (url.username !== '' || url.password !== '')
    throw invalid('settings.baseUrl', 'must not carry a user or password (put credentials in the credential file)');
}

/** Whether a new connection carries credentials (so creating it aims them). */
function carriesCredentials(c: ConnectionShape): boolean {
  return c.credentialPath !== undefined || Object.entries(c.settings).some(([k, v]) => isPathSetting(k) && v !== undefined && v !== null);
}

/** The access on the runner creating this connection needs. */
export function accessToCreate(c: ConnectionShape): RunnerAccess {
  return carriesCredentials(c) ? 'editor' : 'contributor';
}

function target(c: ConnectionShape): string {
  const settings = Object.entries(c.settings)
    .filter(([k]) => isTargetSetting(k))
    .sort(([a], [b]) => a.localeCompare(b));
  return JSON.stringify({ integration: c.integration, credentialPath: c.credentialPath ?? null, settings });
}

/** The fields that re-aim `current` when it becomes `next` (empty: contributor work). */
export function reaimedFields(current: ConnectionShape, next: ConnectionShape): string[] {
  if (target(current) === target(next)) return [];
  const fields: string[] = [];
  if (current.integration !== next.integration) fields.push('integration');
  if ((current.credentialPath ?? null) !== (next.credentialPath ?? null)) fields.push('credentialPath');
  const keys = new Set([...Object.keys(current.settings), ...Object.keys(next.settings)].filter(isTargetSetting));
  for (const k of [...keys].sort()) {
    if (JSON.stringify(current.settings[k] ?? null) !== JSON.stringify(next.settings[k] ?? null)) fields.push(`settings.${k}`);
  }
  return fields;
}
