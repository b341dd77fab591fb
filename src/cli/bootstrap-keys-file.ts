/**
 * The bootstrap keys file lets a co-located control plane hand its admin keys to a runner
 * without putting them in an environment variable (docker compose: a shared volume). The
 * control plane writes it with mode 0600; the runner waits for it when no keys are set.
 */
import { readFile, writeFile, rename, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ParError } from '../errors/par-error.js';

export interface BootstrapKeys {
  apiKey: string;
  appKey: string;
}

export async function writeBootstrapKeys(path: string, keys: BootstrapKeys): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(keys)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

export async function waitForBootstrapKeys(path: string, timeoutMs: number): Promise<BootstrapKeys> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const keys = JSON.parse(await readFile(path, 'utf8')) as Partial<BootstrapKeys>;
      if (typeof keys.apiKey === 'string' && typeof keys.appKey === 'string') return { apiKey: keys.apiKey, appKey: keys.appKey };
    } catch {
      // not written yet
    }
    if (Date.now() > deadline)
      throw new ParError(
        'PAR_ERR_CONFIG_INVALID',
        `PAR_BOOTSTRAP_KEYS_FILE: ${path} did not appear within ${timeoutMs} ms and DD_API_KEY/DD_APP_KEY are not set`,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}
