/** Settings of the `par` client commands (task run, ...): where the control plane is, and the keys. */
import { z } from 'zod';
import { collect, parseSettings, type Env } from './env-source.js';

const sources = {
  controlPlaneUrl: ['PAR_CONTROL_PLANE_URL', 'DD_BASE_URL'],
  apiKey: ['PAR_API_KEY', 'DD_API_KEY'],
  appKey: ['PAR_APP_KEY', 'DD_APP_KEY'],
} as const;

export const cliConfigSchema = z.object({
  controlPlaneUrl: z.string().url().default('http://127.0.0.1:7700'),
  apiKey: z.string().optional(),
  appKey: z.string({ error: 'is required: an application key to call the API with' }).min(1),
});
export type CliConfig = Readonly<z.infer<typeof cliConfigSchema>>;

export function loadCliConfig(env: Env, overrides: Partial<Record<keyof typeof sources, unknown>> = {}): CliConfig {
  const { raw, from } = collect(env, sources);
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return parseSettings(cliConfigSchema, { ...raw, ...defined }, sources, from);
}
