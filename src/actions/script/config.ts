/**
 * The script config, in the seed vendor's format (the "credentials" file of a script connection):
 *
 *   schemaId: script-credentials-v1
 *   runPredefinedScript:
 *     restartService:
 *       command: ["/usr/bin/systemctl", "restart", "{{ parameters.service }}"]
 *       parameterSchema: {type: object, properties: {service: {type: string}}, required: [service]}
 *       allowedEnvVars: [HOME]
 *   runPredefinedPowershellScript:
 *     diskInfo:
 *       command: ["/opt/scripts/disk-info.ps1", "{{ parameters.drive }}"]
 *
 * `command` is an argv list: element 0 is the program (fixed, never templated), the others may
 * hold `{{ parameters.x }}` lookups (template.ts). For PowerShell entries element 0 is the `.ps1`
 * file, run as `pwsh -NoLogo -NoProfile -NonInteractive -File <file> <args...>`.
 *
 * Compiling validates the whole file once (shape, placeholders, JSON Schemas compiled with ajv),
 * so a task only looks a script up. Problems are described by location, never by value.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { z } from 'zod';
import { lookupRoots, parseTemplate, hasLookups, type Template } from './template.js';

export const SCRIPT_CONFIG_SCHEMA_ID = 'script-credentials-v1';

export type ScriptKind = 'script' | 'powershell';

export interface CompiledScript {
  readonly name: string;
  readonly kind: ScriptKind;
  /** The program, as written (absolute path, or a name looked up on the script's PATH). */
  readonly program: string;
  readonly args: readonly Template[];
  /** Validates `parameters`; absent when the entry declares no parameterSchema. */
  readonly validate?: ValidateFunction | undefined;
  readonly allowedEnvVars: readonly string[];
}

export interface ScriptConfig {
  readonly scripts: ReadonlyMap<string, CompiledScript>;
  readonly powershellScripts: ReadonlyMap<string, CompiledScript>;
}

const SCRIPT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const entrySchema = z.object({
  command: z.array(z.string()).min(1, 'must list at least the program').max(1024),
  parameterSchema: z.record(z.string(), z.unknown()).optional(),
  allowedEnvVars: z.array(z.string().regex(ENV_NAME, 'must be an environment variable name')).max(256).optional(),
}).strict();

const entriesSchema = z.record(z.string(), entrySchema);

const fileSchema = z.object({
  schemaId: z.literal(SCRIPT_CONFIG_SCHEMA_ID, { error: `must be "${SCRIPT_CONFIG_SCHEMA_ID}"` }),
  runPredefinedScript: entriesSchema.nullish(),
  runPredefinedPowershellScript: entriesSchema.nullish(),
});

export type CompileResult = { ok: true; config: ScriptConfig } | { ok: false; problem: string };

function compileEntry(ajv: Ajv, kind: ScriptKind, name: string, entry: z.output<typeof entrySchema>): { ok: true; script: CompiledScript } | { ok: false; problem: string } {
  const where = `${kind === 'script' ? 'runPredefinedScript' : 'runPredefinedPowershellScript'}.${name}`;
  const [program, ...rest] = entry.command;
  if (program === undefined || program.length === 0) return { ok: false, problem: `${where}.command.0: the program must not be empty` };
  const programTemplate = parseTemplate(program);
  if (!programTemplate.ok || hasLookups(programTemplate.template)) {
    // The caller picks parameters; letting them pick the program would make every script "run anything".
    return { ok: false, problem: `${where}.command.0: the program must be fixed, not a placeholder` };
  }
  const args: Template[] = [];
  for (const [i, element] of rest.entries()) {
    const parsed = parseTemplate(element);
    if (!parsed.ok) return { ok: false, problem: `${where}.command.${i + 1}: ${parsed.problem}` };
    args.push(parsed.template);
  }
  let validate: ValidateFunction | undefined;
  if (entry.parameterSchema) {
    try {
      validate = ajv.compile(entry.parameterSchema);
    } catch (error) {
      return { ok: false, problem: `${where}.parameterSchema: not a valid JSON Schema (${error instanceof Error ? error.message.split('\n')[0] : 'compile error'})` };
    }
  }
  const roots = args.flatMap(lookupRoots);
  if (roots.length > 0 && entry.parameterSchema && entry.parameterSchema['type'] !== undefined && entry.parameterSchema['type'] !== 'object') {
    return { ok: false, problem: `${where}.parameterSchema: must describe an object when command uses {{ parameters.* }}` };
  }
  return { ok: true, script: { name, kind, program, args, validate, allowedEnvVars: entry.allowedEnvVars ?? [] } };
}

/** Validates and compiles a parsed config document. */
export function compileScriptConfig(doc: unknown): CompileResult {
  const parsed = fileSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue?.path.length ? issue.path.join('.') : '(file)';
    return { ok: false, problem: `${path}: ${issue?.message ?? 'invalid'}` };
  }
  // One Ajv per file version: its schema cache then lives and dies with that version.
  // strictSchema: an unknown keyword or `format` is a config error, not a check silently skipped
  // (no format plugin is loaded: use `pattern`).
  const ajv = new Ajv({ allErrors: false, strictSchema: true, strictTypes: false, strictTuples: false, strictRequired: false, logger: false });
  const build = (kind: ScriptKind, entries: Record<string, z.output<typeof entrySchema>> | null | undefined) => {
    const map = new Map<string, CompiledScript>();
    for (const [name, entry] of Object.entries(entries ?? {})) {
      if (!SCRIPT_NAME.test(name)) return { ok: false as const, problem: `${kind === 'script' ? 'runPredefinedScript' : 'runPredefinedPowershellScript'}.${name}: script names are letters, digits, "_", "-" and "." (max 128)` };
      const compiled = compileEntry(ajv, kind, name, entry);
      if (!compiled.ok) return compiled;
      map.set(name, compiled.script);
    }
    return { ok: true as const, map };
  };
  const scripts = build('script', parsed.data.runPredefinedScript);
  if (!scripts.ok) return scripts;
  const powershell = build('powershell', parsed.data.runPredefinedPowershellScript);
  if (!powershell.ok) return powershell;
  return { ok: true, config: { scripts: scripts.map, powershellScripts: powershell.map } };
}

/** Whether a parsed file claims to be a script config (used to tell it from other credential files). */
export function isScriptConfigDocument(doc: unknown): boolean {
  return doc !== null && typeof doc === 'object' && (doc as { schemaId?: unknown }).schemaId === SCRIPT_CONFIG_SCHEMA_ID;
}
