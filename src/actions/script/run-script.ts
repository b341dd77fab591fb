/**
 * `com.datadoghq.script.runPredefinedScript` and `runPredefinedPowershellScript`: look the script
 * up in the config, check `parameters` against its JSON Schema, render its argv, run it without a
 * shell in a scrubbed environment, inside the worker's script sandbox (`sandbox.ts`: bubblewrap, or
 * none; and/or another user), and report {executedCommand, exitCode, stdout, stderr,
 * durationMillis}. A non-zero exit fails the task (PAR_ERR_SCRIPT_EXIT_NONZERO, with the exit
 * code and the stderr tail) unless `noFailOnError`.
 */
import type { ErrorObject } from 'ajv';
import { ParError } from '../../errors/par-error.js';
import { defineAction, type ActionContext, type RegisteredAction } from '../action.js';
import { classifyProcessEnd, classifyScriptError, exitError } from './classify.js';
import type { CompiledScript, ScriptKind } from './config.js';
import { locateScriptConfig, type ScriptConfigStore } from './config-store.js';
import { findOnPath, scriptEnvironment, type ParentEnv } from './environment.js';
import { runScriptInputSchema, type RunScriptInput } from './inputs.js';
import { runProcess } from './process-runner.js';
import type { ScriptSandbox } from './sandbox.js';
import { prepareLaunch } from './sandbox-launch.js';
import { renderTemplate } from '../template.js';
import { renderInlinePowershell } from './powershell-inline.js';

export const RUN_SCRIPT_FQN = 'com.datadoghq.script.runPredefinedScript';
export const RUN_POWERSHELL_SCRIPT_FQN = 'com.datadoghq.script.runPredefinedPowershellScript';

/** Linux's MAX_ARG_STRLEN is 128 KiB per element (NUL included); the whole argv+env shares ~2 MiB. */
export const MAX_ARG_BYTES = 128 * 1024 - 1;
export const MAX_ARGV_BYTES = 1024 * 1024;

export const PWSH_ARGS = ['-NoLogo', '-NoProfile', '-NonInteractive', '-File'] as const;
export const PWSH_INLINE_ARGS = ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command'] as const;

export interface ScriptRuntime {
  readonly store: ScriptConfigStore;
  /** PAR_SCRIPT_CONFIG_FILE: relative to the config dir unless absolute. */
  readonly configFile: string;
  readonly maxOutputBytes: number;
  /** The worker's environment: the source of allowedEnvVars and of the PATH searched for pwsh. */
  readonly parentEnv: ParentEnv;
  /** Where scripts run: decided and probed at worker start-up (`sandbox-setup.ts`). */
  readonly sandbox: ScriptSandbox;
}

export interface RunScriptOutput {
  executedCommand: string[];
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMillis: number;
}

/** Names the failing field and rule, never the value. */
function describeSchemaError(error: ErrorObject | undefined): string {
  if (!error) return 'parameters do not match the parameterSchema';
  const where = error.instancePath ? `parameters${error.instancePath.replaceAll('/', '.')}` : 'parameters';
  return `${where}: ${error.message ?? 'invalid'}`;
}

function checkArgument(script: CompiledScript, value: string, i: number, total: number): number {
  // The kernel cuts argv at a NUL byte: refuse rather than run a different command.
  if (value.includes('\0'))
    throw new ParError('PAR_ERR_SCRIPT_PARAMETERS_INVALID', `script ${script.name}: argument ${i + 1} contains a NUL byte`);
  const bytes = Buffer.byteLength(value);
  if (bytes > MAX_ARG_BYTES)
    throw new ParError(
      'PAR_ERR_SCRIPT_PARAMETERS_INVALID',
      `script ${script.name}: argument ${i + 1} is longer than ${MAX_ARG_BYTES} bytes`,
    );
  if (total + bytes > MAX_ARGV_BYTES)
    throw new ParError(
      'PAR_ERR_SCRIPT_PARAMETERS_INVALID',
      `script ${script.name}: the arguments are longer than ${MAX_ARGV_BYTES} bytes together`,
    );
  return total + bytes;
}

/**
 * Checks `parameters` against the schema and renders the argv (or the inline PowerShell body) with
 * the vendor's template semantics: a missing or null value prints as the empty string (a parameter
 * the command cannot do without belongs in the schema's `required`).
 */
export function renderArgs(script: CompiledScript, parameters: Readonly<Record<string, unknown>>): string[] {
  if (script.validate && !script.validate(parameters)) {
    throw new ParError('PAR_ERR_SCRIPT_PARAMETERS_INVALID', `script ${script.name}: ${describeSchemaError(script.validate.errors?.[0])}`);
  }
  if (script.inline !== undefined) {
    let body: string;
    try {
      body = renderInlinePowershell(script.inline, parameters);
    } catch (error) {
      throw new ParError(
        'PAR_ERR_SCRIPT_PARAMETERS_INVALID',
        `script ${script.name}: ${error instanceof Error ? error.message : 'cannot render'}`,
      );
    }
    checkArgument(script, body, 0, 0);
    return [body];
  }
  const context = { parameters };
  const args: string[] = [];
  let total = Buffer.byteLength(script.program);
  for (const [i, template] of script.args.entries()) {
    const rendered = renderTemplate(template, context);
    total = checkArgument(script, rendered, i, total);
    args.push(rendered);
  }
  return args;
}

/** Linux scripts: the one final `\n` is dropped, as the vendor's TrimSuffix does. */
export function formatScriptOutput(text: string, keep: boolean): string {
  return keep || !text.endsWith('\n') ? text : text.slice(0, -1);
}

/** PowerShell: CRLF becomes LF, then leading and trailing newlines go, as the vendor formats it. */
export function formatPowershellOutput(text: string, keep: boolean): string {
  const normalized = text.replaceAll('\r\n', '\n');
  return keep ? normalized : normalized.replace(/^\n+/, '').replace(/\n+$/, '');
}

async function commandFor(script: CompiledScript, args: string[], parentEnv: ParentEnv): Promise<{ program: string; args: string[] }> {
  if (script.kind === 'script') return { program: script.program, args };
  const pwsh = await findOnPath('pwsh', parentEnv);
  if (!pwsh) throw new ParError('PAR_ERR_SCRIPT_PWSH_UNAVAILABLE', `script ${script.name}: no executable pwsh on PATH`);
  if (script.inline !== undefined) return { program: pwsh, args: [...PWSH_INLINE_ARGS, ...args] };
  return { program: pwsh, args: [...PWSH_ARGS, script.program, ...args] };
}

export async function runPredefined(
  kind: ScriptKind,
  inputs: RunScriptInput,
  ctx: ActionContext,
  runtime: ScriptRuntime,
): Promise<RunScriptOutput> {
  const name = inputs.scriptName;
  const location = locateScriptConfig(ctx.configDir, runtime.configFile, ctx.connection);
  const config = await runtime.store.load(location, ctx.signal);
  const entry = (kind === 'script' ? config.scripts : config.powershellScripts).get(name);
  if (!entry) {
    const section = kind === 'script' ? 'runPredefinedScript' : 'runPredefinedPowershellScript';
    throw new ParError('PAR_ERR_SCRIPT_NOT_FOUND', `"${name}" is not declared under ${section} in ${location.label}`);
  }
  // A broken entry fails alone, with its own problem; the file's other scripts still run.
  if (!entry.ok) throw new ParError('PAR_ERR_SCRIPT_CONFIG_INVALID', `${location.label}: ${entry.problem}`);
  const script = entry.script;
  const args = renderArgs(script, inputs.parameters);
  const command = await commandFor(script, args, runtime.parentEnv);
  const timeoutSeconds = inputs.timeout !== undefined && inputs.timeout > 0 ? inputs.timeout : undefined;
  const timeoutSignal = timeoutSeconds === undefined ? undefined : AbortSignal.timeout(timeoutSeconds * 1000);
  const signal = timeoutSignal ? AbortSignal.any([ctx.signal, timeoutSignal]) : ctx.signal;

  const env = scriptEnvironment(script.allowedEnvVars, runtime.parentEnv);
  const launch = await prepareLaunch(runtime.sandbox, {
    script: name,
    program: command.program,
    args: command.args,
    path: env['PATH'] ?? '',
    ...(script.kind === 'powershell' ? { files: script.inline === undefined ? [script.program] : [], programDir: true } : {}),
  });
  const result = await runProcess({
    program: launch.program,
    args: launch.args,
    env,
    maxOutputBytes: runtime.maxOutputBytes,
    signal,
    user: launch.user,
    statusFd: launch.statusFd,
  });
  const failure = { script: name, taskSignal: ctx.signal, timeoutSignal, timeoutSeconds, maxOutputBytes: runtime.maxOutputBytes };
  if (result.ended.kind !== 'exited') throw classifyProcessEnd(result.ended, failure);

  const format = kind === 'powershell' ? formatPowershellOutput : formatScriptOutput;
  const strip = (b: Buffer) => format(b.toString('utf8'), inputs.noStripTrailingNewline);
  const output: RunScriptOutput = {
    executedCommand: [command.program, ...command.args],
    exitCode: result.ended.exitCode,
    stdout: strip(result.stdout),
    stderr: strip(result.stderr),
    durationMillis: result.durationMillis,
  };
  ctx.logger.debug({ script: name, kind, exitCode: output.exitCode, durationMillis: output.durationMillis }, 'script finished');
  if (output.exitCode !== 0 && !inputs.noFailOnError) throw exitError(name, output.exitCode, output.stderr);
  return output;
}

function scriptAction(fqn: string, kind: ScriptKind, runtime: ScriptRuntime): RegisteredAction {
  return defineAction({
    fqn,
    inputSchema: runScriptInputSchema,
    async run(inputs, ctx): Promise<RunScriptOutput> {
      try {
        return await runPredefined(kind, inputs, ctx, runtime);
      } catch (error) {
        throw classifyScriptError(error, inputs.scriptName);
      }
    },
  });
}

export const runPredefinedScriptAction = (runtime: ScriptRuntime) => scriptAction(RUN_SCRIPT_FQN, 'script', runtime);
export const runPredefinedPowershellScriptAction = (runtime: ScriptRuntime) =>
  scriptAction(RUN_POWERSHELL_SCRIPT_FQN, 'powershell', runtime);
