/**
 * The `com.datadoghq.script` bundle. The config store (parsed + compiled script configs, cached
 * by file version) lives as long as the worker; the settings come from the worker config and the
 * worker's environment from its composition root (workers/main.ts), since only entry points read
 * `process.env`.
 */
import type { RegisteredAction } from '../action.js';
import { ScriptConfigStore } from './config-store.js';
import { enrichScriptAction } from './enrich.js';
import type { ParentEnv } from './environment.js';
import { runPredefinedPowershellScriptAction, runPredefinedScriptAction, type ScriptRuntime } from './run-script.js';
import type { ScriptSandbox } from './sandbox.js';
import { scriptTestConnectionAction } from './test-connection.js';

export interface ScriptBundleOptions {
  /** PAR_SCRIPT_CONFIG_FILE (default `script-config.yaml`, relative to the config dir). */
  configFile?: string;
  /** PAR_SCRIPT_MAX_OUTPUT_BYTES (default 10 MiB). */
  maxOutputBytes?: number;
  /** The worker's environment; allowedEnvVars are copied from it. Default: nothing passes. */
  parentEnv?: ParentEnv;
  /**
   * Where scripts run (PAR_SCRIPT_SANDBOX / PAR_SCRIPT_USER), prepared and probed by the worker
   * at start-up (`prepareScriptSandbox`). Default: no sandbox, as the worker's user.
   */
  sandbox?: ScriptSandbox;
}

export interface ScriptBundle {
  readonly actions: readonly RegisteredAction[];
  close(): Promise<void>;
}

export const DEFAULT_SCRIPT_CONFIG_FILE = 'script-config.yaml';
export const DEFAULT_SCRIPT_MAX_OUTPUT_BYTES = 10 * 1024 * 1024;

export function createScriptBundle(options: ScriptBundleOptions = {}): ScriptBundle {
  const runtime: ScriptRuntime = {
    store: new ScriptConfigStore(),
    configFile: options.configFile ?? DEFAULT_SCRIPT_CONFIG_FILE,
    maxOutputBytes: options.maxOutputBytes ?? DEFAULT_SCRIPT_MAX_OUTPUT_BYTES,
    parentEnv: Object.freeze({ ...(options.parentEnv ?? {}) }),
    sandbox: options.sandbox ?? { kind: 'none' },
  };
  return {
    actions: [
      runPredefinedScriptAction(runtime),
      runPredefinedPowershellScriptAction(runtime),
      enrichScriptAction(runtime),
      scriptTestConnectionAction(runtime),
    ],
    // Scripts run under the task's signal; the lifecycle has stopped them before close.
    close: () => Promise.resolve(),
  };
}
