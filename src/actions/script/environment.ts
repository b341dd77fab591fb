/**
 * What a script sees of the world: a scrubbed environment (a fixed PATH plus the variables its
 * config entry allows, copied from the worker's own environment) and, for PowerShell entries,
 * where `pwsh` lives. The worker's environment holds its secrets (Redis URL, API keys): nothing
 * of it reaches a script unless the operator named it in `allowedEnvVars`.
 */
import { access, constants } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';

export type ParentEnv = Readonly<Record<string, string | undefined>>;

/** The PATH a script gets unless PATH itself is in its allowedEnvVars. */
export const SAFE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function scriptEnvironment(allowed: readonly string[], parent: ParentEnv): Record<string, string> {
  const env: Record<string, string> = { PATH: SAFE_PATH };
  for (const name of allowed) {
    const value = parent[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable `name` on the worker's PATH, then on SAFE_PATH; undefined when none. */
export async function findOnPath(name: string, parent: ParentEnv): Promise<string | undefined> {
  const dirs = [...(parent['PATH'] ?? '').split(delimiter), ...SAFE_PATH.split(delimiter)].filter((d) => d.length > 0 && isAbsolute(d));
  for (const dir of new Set(dirs)) {
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}
