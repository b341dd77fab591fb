/** Settings of the `par` client commands (task run, ...): where the control plane is, and the keys. */
import { z } from 'zod';
import { secret } from './env-helpers.js';
import { loadSettings, type Env } from './env-source.js';

export const cliSettingSources = {
  controlPlaneUrl: ['PAR_CONTROL_PLANE_URL', 'DD_BASE_URL'],
  apiKey: ['PAR_API_KEY', 'DD_API_KEY'],
  appKey: ['PAR_APP_KEY', 'DD_APP_KEY'],
} as const;

export const cliConfigSchema = z.object({
  controlPlaneUrl: z.url().default('http://127.0.0.1:7700').describe('URL of the control plane the commands call (`--base-url` wins).'),
  apiKey: secret(z.string()).optional().describe('API key sent with each call.'),
  appKey: secret(z.string({ error: 'is required: an application key to call the API with' }).min(1)).describe(
    'Application key the commands call the API with (required).',
  ),
});
export type CliConfig = Readonly<z.infer<typeof cliConfigSchema>>;

export function loadCliConfig(env: Env, overrides: Partial<Record<keyof typeof cliSettingSources, unknown>> = {}): CliConfig {
  return loadSettings(cliConfigSchema, cliSettingSources, env, overrides);
}
