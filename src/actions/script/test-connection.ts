/**
 * `com.datadoghq.script.testConnection`: is the script config usable? A malformed config is an
 * answer (`valid: false` with the error), not a failure of the action, like http.testConnection
 * treats an unreachable target. A valid config also reports the scripts whose program cannot be
 * found or executed, the entries the loader could not use (each with its problem; the others
 * work), and whether PowerShell is available.
 */
import { access, constants } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import type { ErrorBody } from '../../errors/par-error.js';
import { ParError } from '../../errors/par-error.js';
import { defineAction, type RegisteredAction } from '../action.js';
import { classifyScriptError } from './classify.js';
import type { CompiledScript } from './config.js';
import { locateScriptConfig } from './config-store.js';
import { findOnPath, SAFE_PATH, type ParentEnv } from './environment.js';
import { scriptTestConnectionInputSchema } from './inputs.js';
import type { ScriptRuntime } from './run-script.js';

export const SCRIPT_TEST_CONNECTION_FQN = 'com.datadoghq.script.testConnection';

export interface ScriptTestConnectionOutput {
  valid: boolean;
  configFile: string;
  scriptCount?: number;
  powershellScriptCount?: number;
  /** Scripts whose program is missing or not executable (PowerShell: whose .ps1 is unreadable). */
  unavailableScripts?: string[];
  /** Entries that fail when used, with why (names and locations, never values). */
  invalidScripts?: Array<{ name: string; problem: string }>;
  pwshAvailable?: boolean;
  error?: ErrorBody;
}

async function usable(script: CompiledScript, parentEnv: ParentEnv): Promise<boolean> {
  if (script.inline !== undefined) return (await findOnPath('pwsh', parentEnv)) !== undefined;
  const mode = script.kind === 'powershell' ? constants.R_OK : constants.X_OK;
  if (isAbsolute(script.program)) {
    return access(script.program, mode).then(
      () => true,
      () => false,
    );
  }
  // A bare name is looked up on the PATH the script will get.
  const path = script.allowedEnvVars.includes('PATH') ? (parentEnv['PATH'] ?? SAFE_PATH) : SAFE_PATH;
  return script.kind === 'script' && !script.program.includes('/')
    ? (await findOnPath(script.program, { PATH: path })) !== undefined
    : false;
}

export function scriptTestConnectionAction(runtime: ScriptRuntime): RegisteredAction {
  return defineAction({
    fqn: SCRIPT_TEST_CONNECTION_FQN,
    inputSchema: scriptTestConnectionInputSchema,
    async run(_inputs, ctx): Promise<ScriptTestConnectionOutput> {
      const location = locateScriptConfig(ctx.configDir, runtime.configFile, ctx.connection);
      try {
        const config = await runtime.store.load(location, ctx.signal);
        const all = [...config.scripts.values(), ...config.powershellScripts.values()];
        const unavailableScripts: string[] = [];
        const invalidScripts: Array<{ name: string; problem: string }> = [];
        for (const entry of all) {
          if (ctx.signal.aborted) throw new ParError('PAR_ERR_TASK_CANCELLED', 'script testConnection: stopped');
          if (!entry.ok) invalidScripts.push({ name: entry.name, problem: entry.problem });
          else if (!(await usable(entry.script, runtime.parentEnv))) unavailableScripts.push(entry.script.name);
        }
        return {
          valid: true,
          configFile: location.label,
          scriptCount: config.scripts.size,
          powershellScriptCount: config.powershellScripts.size,
          unavailableScripts: unavailableScripts.sort(),
          invalidScripts: invalidScripts.sort((a, b) => a.name.localeCompare(b.name)),
          pwshAvailable: (await findOnPath('pwsh', runtime.parentEnv)) !== undefined,
        };
      } catch (error) {
        const classified = classifyScriptError(error, '(config)');
        if (classified.code !== 'PAR_ERR_SCRIPT_CONFIG_INVALID') throw classified;
        return { valid: false, configFile: location.label, error: classified.toBody() };
      }
    },
  });
}
