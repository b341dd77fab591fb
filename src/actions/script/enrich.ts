/**
 * `com.datadoghq.script.enrichScript`: the names of the scripts this runner offers (for a
 * workflow editor's script picker). Names only: commands and schemas stay on the runner.
 */
import { ParError } from '../../errors/par-error.js';
import { defineAction, type RegisteredAction } from '../action.js';
import { classifyScriptError } from './classify.js';
import { locateScriptConfig } from './config-store.js';
import { enrichScriptInputSchema } from './inputs.js';
import type { ScriptRuntime } from './run-script.js';

export const ENRICH_SCRIPT_FQN = 'com.datadoghq.script.enrichScript';

export interface EnrichScriptOutput {
  scriptNames: string[];
  powershellScriptNames: string[];
}

export function enrichScriptAction(runtime: ScriptRuntime): RegisteredAction {
  return defineAction({
    fqn: ENRICH_SCRIPT_FQN,
    inputSchema: enrichScriptInputSchema,
    async run(_inputs, ctx): Promise<EnrichScriptOutput> {
      try {
        const config = await runtime.store.load(locateScriptConfig(ctx.configDir, runtime.configFile, ctx.connection), ctx.signal);
        if (ctx.signal.aborted) throw new ParError('PAR_ERR_TASK_CANCELLED', 'script enrichScript: stopped');
        return {
          scriptNames: [...config.scripts.keys()].sort(),
          powershellScriptNames: [...config.powershellScripts.keys()].sort(),
        };
      } catch (error) {
        throw classifyScriptError(error, '(config)');
      }
    },
  });
}
