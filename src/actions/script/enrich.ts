/**
 * `com.datadoghq.script.enrichScript`: the scripts this runner offers, for a workflow editor's
 * script picker, in the vendor's shape: `{options: [{label, value, description}], placeholder}`,
 * filtered by the `search` input (case-insensitive, on the name). Like the vendor it lists the
 * `runPredefinedScript` entries; unlike it, `description` is empty: commands stay on the runner.
 */
import { ParError } from '../../errors/par-error.js';
import { defineAction, type RegisteredAction } from '../action.js';
import { classifyScriptError } from './classify.js';
import { locateScriptConfig } from './config-store.js';
import { enrichScriptInputSchema } from './inputs.js';
import type { ScriptRuntime } from './run-script.js';

export const ENRICH_SCRIPT_FQN = 'com.datadoghq.script.enrichScript';

export interface EnrichScriptOption {
  label: string;
  value: string;
  description: string;
}

export interface EnrichScriptOutput {
  options: EnrichScriptOption[];
  placeholder: string;
}

export const ENRICH_PLACEHOLDER = 'Select a script';

export function enrichScriptAction(runtime: ScriptRuntime): RegisteredAction {
  return defineAction({
    fqn: ENRICH_SCRIPT_FQN,
    inputSchema: enrichScriptInputSchema,
    async run(inputs, ctx): Promise<EnrichScriptOutput> {
      try {
        const config = await runtime.store.load(locateScriptConfig(ctx.configDir, runtime.configFile, ctx.connection), ctx.signal);
        if (ctx.signal.aborted) throw new ParError('PAR_ERR_TASK_CANCELLED', 'script enrichScript: stopped');
        const search = (inputs.search ?? '').toLowerCase();
        const options = [...config.scripts.keys()]
          .sort()
          .filter((name) => search === '' || name.toLowerCase().includes(search))
          .map((name) => ({ label: name, value: name, description: '' }));
        return { options, placeholder: ENRICH_PLACEHOLDER };
      } catch (error) {
        throw classifyScriptError(error, '(config)');
      }
    },
  });
}
