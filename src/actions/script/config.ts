/**
 * The script config, in the vendor's format (the "credentials" file of a script connection):
 *
 *   schemaId: script-credentials-v1
 *   runPredefinedScript:
 *     restartService:
 *       command: ["/usr/bin/systemctl", "restart", "{{ parameters.service }}"]
 *       parameterSchema: {properties: {service: {type: string}}, required: [service]}
 *       allowedEnvVars: [HOME]
 *   runPredefinedPowershellScript:
 *     diskInfo:                       # a .ps1 file and its arguments
 *       file: /opt/scripts/disk-info.ps1
 *       arguments: ["{{ parameters.drive }}"]
 *     greet:                          # or an inline script
 *       script: Write-Output "Hello {{ parameters.name }}"
 *
 * Read as the vendor reads it, entry by entry: a broken entry fails only when it is used, with its
 * own message, and the others work. Keys the vendor does not know are ignored (in the file and in
 * entries); scalar `command` / `arguments` elements are taken as their YAML source text (`5`,
 * `true`, `1.50` stay exactly that); of `parameterSchema` only `properties` and `required` count
 * (validated as an object, JSON Schema `format`s included). Placeholders (../template.ts) are
 * parsed here, so a malformed one is a config error, not a task error.
 *
 * Stricter than the vendor, for safety: `command[0]` (the program) and a PowerShell `file` are
 * fixed, never templated; script names are letters, digits, `_`, `-` and `.`.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import { hasPaths, parseTemplate, type Template } from '../template.js';

export const SCRIPT_CONFIG_SCHEMA_ID = 'script-credentials-v1';

export type ScriptKind = 'script' | 'powershell';

export interface CompiledScript {
  readonly name: string;
  readonly kind: ScriptKind;
  /** The program (a `.ps1` file for PowerShell file mode), as written; absent for inline PowerShell. */
  readonly program: string;
  readonly args: readonly Template[];
  /** Inline PowerShell: the script body, parameters bound through a quoted preamble (powershell-inline.ts). */
  readonly inline?: Template | undefined;
  /** Validates `parameters`; absent when the entry declares no parameterSchema. */
  readonly validate?: ValidateFunction | undefined;
  readonly allowedEnvVars: readonly string[];
  /** For the script picker: the command as written. */
  readonly commandText: string;
}

/** An entry the loader could not use: it fails, with this problem, when a task names it. */
export interface BrokenScript {
  readonly name: string;
  readonly kind: ScriptKind;
  readonly problem: string;
}

export type ScriptEntry = { readonly ok: true; readonly script: CompiledScript } | ({ readonly ok: false } & BrokenScript);

export interface ScriptConfig {
  readonly scripts: ReadonlyMap<string, ScriptEntry>;
  readonly powershellScripts: ReadonlyMap<string, ScriptEntry>;
}

const SCRIPT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_COMMAND_ELEMENTS = 1024;

export type CompileResult = { ok: true; config: ScriptConfig } | { ok: false; problem: string };

const SECTION: Record<ScriptKind, string> = { script: 'runPredefinedScript', powershell: 'runPredefinedPowershellScript' };

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

class EntryProblem extends Error {}

/** Scalar elements as their source text (from the failsafe parse); anything else is a problem. */
function scalarList(value: unknown, source: unknown, where: string): string[] {
  if (!Array.isArray(value)) throw new EntryProblem(`${where}: must be a list`);
  if (value.length > MAX_COMMAND_ELEMENTS) throw new EntryProblem(`${where}: more than ${MAX_COMMAND_ELEMENTS} elements`);
  const texts = Array.isArray(source) ? source : [];
  return value.map((element, i) => {
    if (element !== null && typeof element === 'object') throw new EntryProblem(`${where}.${i}: must be a string, number or boolean`);
    const text: unknown = texts[i];
    if (typeof text === 'string') return text;
    return element === null || element === undefined ? '' : String(element);
  });
}

function template(text: string, where: string): Template {
  const parsed = parseTemplate(text);
  if (!parsed.ok) throw new EntryProblem(`${where}: ${parsed.problem}`);
  return parsed.template;
}

function fixed(text: string, where: string): string {
  if (text.trim().length === 0) throw new EntryProblem(`${where}: must not be empty`);
  const parsed = parseTemplate(text);
  // The caller picks parameters; letting them pick the program would make every script "run anything".
  if (!parsed.ok || hasPaths(parsed.template)) throw new EntryProblem(`${where}: must be fixed, not a placeholder`);
  return text;
}

function compileParameters(ajv: Ajv, schema: unknown, where: string): ValidateFunction | undefined {
  if (schema === undefined || schema === null) return undefined;
  if (!isRecord(schema)) throw new EntryProblem(`${where}: must be a mapping`);
  // As the vendor: only `properties` and `required` are used, under `type: object`.
  const effective: Record<string, unknown> = { type: 'object', properties: schema['properties'] ?? {} };
  if (schema['required'] !== undefined) effective['required'] = schema['required'];
  try {
    return ajv.compile(effective);
  } catch (error) {
    throw new EntryProblem(
      `${where}: not a valid JSON Schema (${error instanceof Error ? error.message.split('\n')[0] : 'compile error'})`,
    );
  }
}

function envVars(value: unknown, where: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.length > 256) throw new EntryProblem(`${where}: must be a list of at most 256 names`);
  return value.map((v, i) => {
    if (typeof v !== 'string' || !ENV_NAME.test(v)) throw new EntryProblem(`${where}.${i}: must be an environment variable name`);
    return v;
  });
}

function compileEntry(ajv: Ajv, kind: ScriptKind, name: string, entry: unknown, source: unknown): CompiledScript {
  const where = `${SECTION[kind]}.${name}`;
  if (!SCRIPT_NAME.test(name)) throw new EntryProblem(`${where}: script names are letters, digits, "_", "-" and "." (max 128)`);
  if (!isRecord(entry)) throw new EntryProblem(`${where}: must be a mapping`);
  const src = isRecord(source) ? source : {};
  const validate = compileParameters(ajv, entry['parameterSchema'], `${where}.parameterSchema`);
  const allowedEnvVars = envVars(entry['allowedEnvVars'], `${where}.allowedEnvVars`);

  if (kind === 'powershell' && (entry['script'] !== undefined || entry['file'] !== undefined)) {
    const hasScript = typeof entry['script'] === 'string' && entry['script'].length > 0;
    const hasFile = typeof entry['file'] === 'string' && entry['file'].length > 0;
    if (hasScript === hasFile) throw new EntryProblem(`${where}: give either "script" or "file", not ${hasScript ? 'both' : 'neither'}`);
    if (hasScript) {
      const body = String(entry['script']);
      if (body.trim().length === 0) throw new EntryProblem(`${where}.script: must not be empty`);
      return { name, kind, program: '', args: [], inline: template(body, `${where}.script`), validate, allowedEnvVars, commandText: body };
    }
    const file = fixed(String(entry['file']), `${where}.file`);
    const argTexts = entry['arguments'] === undefined ? [] : scalarList(entry['arguments'], src['arguments'], `${where}.arguments`);
    const args = argTexts.map((t, i) => template(t, `${where}.arguments.${i}`));
    return { name, kind, program: file, args, validate, allowedEnvVars, commandText: [file, ...argTexts].join(' ') };
  }

  const command = scalarList(entry['command'], src['command'], `${where}.command`);
  const [program, ...rest] = command;
  if (program === undefined) throw new EntryProblem(`${where}.command: must list at least the program`);
  fixed(program, `${where}.command.0`);
  const args = rest.map((t, i) => template(t, `${where}.command.${i + 1}`));
  return { name, kind, program, args, validate, allowedEnvVars, commandText: command.join(' ') };
}

function compileSection(ajv: Ajv, kind: ScriptKind, entries: unknown, source: unknown): Map<string, ScriptEntry> {
  const map = new Map<string, ScriptEntry>();
  if (!isRecord(entries)) return map;
  const sources = isRecord(source) ? source : {};
  for (const [name, entry] of Object.entries(entries)) {
    try {
      map.set(name, { ok: true, script: compileEntry(ajv, kind, name, entry, sources[name]) });
    } catch (error) {
      if (!(error instanceof EntryProblem)) throw error;
      map.set(name, { ok: false, name, kind, problem: error.message });
    }
  }
  return map;
}

/**
 * Validates and compiles a parsed config document. `source` is the same document parsed with every
 * scalar as its text (YAML failsafe schema): what `command` elements are taken from.
 */
export function compileScriptConfig(doc: unknown, source: unknown = doc): CompileResult {
  if (!isRecord(doc)) return { ok: false, problem: '(file): must be a mapping' };
  if (doc['schemaId'] !== SCRIPT_CONFIG_SCHEMA_ID) return { ok: false, problem: `schemaId: must be "${SCRIPT_CONFIG_SCHEMA_ID}"` };
  const src = isRecord(source) ? source : {};
  // One Ajv per file version: its schema cache lives and dies with that version. Not strict: the
  // vendor's validator ignores keywords it does not know; formats (email, uri, date-time…) are checked.
  const ajv = new Ajv({ allErrors: false, strict: false, logger: false });
  addFormats(ajv);
  return {
    ok: true,
    config: {
      scripts: compileSection(ajv, 'script', doc['runPredefinedScript'], src['runPredefinedScript']),
      powershellScripts: compileSection(ajv, 'powershell', doc['runPredefinedPowershellScript'], src['runPredefinedPowershellScript']),
    },
  };
}

/** ajv-formats is CommonJS with a default export; under NodeNext its type is the module object. */
function addFormats(ajv: Ajv): void {
  const plugin = addFormatsPlugin as unknown as { default?: (a: Ajv) => Ajv } & ((a: Ajv) => Ajv);
  (plugin.default ?? plugin)(ajv);
}
