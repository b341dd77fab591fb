/**
 * Finds, reads and caches the script config. Two places can hold it:
 *  - the task's connection, when it is a script connection: its `credentialPath` (relative to the
 *    config dir, and it must stay inside it after symlinks: the path comes from the control plane);
 *  - otherwise the worker's own file, `PAR_SCRIPT_CONFIG_FILE` (default `script-config.yaml` in
 *    the config dir; chosen by the operator, so it may be absolute).
 *
 * Each task reads the file (through `readConfigFile`: a connection's path is confined to the
 * config dir, every file must be a regular file of at most 1 MiB, read with a deadline); it is
 * parsed and compiled again only when its mtime, size or inode changed. The compiler (config.ts,
 * with Ajv for the parameter schemas) is loaded on the first script task, not at worker start. Errors name the file and the problem, never its contents (a YAML parser's message
 * quotes the offending line, so it is not passed on).
 */
import { dirname, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { ConnectionRef } from '../../contracts/task.js';
import { ParError } from '../../errors/par-error.js';
import { MAX_CONFIG_FILE_BYTES, readConfigFile } from '../config-file.js';
import type { compileScriptConfig, ScriptConfig } from './config.js';

export const MAX_SCRIPT_CONFIG_BYTES = MAX_CONFIG_FILE_BYTES;

/** Integration names that mark a connection whose credential file is a script config. */
const SCRIPT_INTEGRATIONS: ReadonlySet<string> = new Set(['script', 'com.datadoghq.script']);

export interface ScriptConfigLocation {
  /** Absolute path of the file to read. */
  readonly path: string;
  /** How errors name it: as the user wrote it. */
  readonly label: string;
  /** When set, the path (relativePath) must stay inside this directory, symlinks resolved. */
  readonly confineTo?: string | undefined;
  /** The path as the connection gave it, relative to `confineTo`. */
  readonly relativePath?: string | undefined;
}

export function isScriptConnection(connection: ConnectionRef | undefined): boolean {
  return connection !== undefined && SCRIPT_INTEGRATIONS.has(connection.integration.toLowerCase());
}

export function locateScriptConfig(configDir: string, configFile: string, connection: ConnectionRef | undefined): ScriptConfigLocation {
  const root = resolve(configDir);
  if (isScriptConnection(connection) && connection?.credentialPath) {
    return {
      path: resolve(root, connection.credentialPath),
      label: connection.credentialPath,
      confineTo: root,
      relativePath: connection.credentialPath,
    };
  }
  return { path: resolve(root, configFile), label: configFile };
}

function invalid(label: string, problem: string): ParError {
  return new ParError('PAR_ERR_SCRIPT_CONFIG_INVALID', `${label}: ${problem}`);
}

type Compile = typeof compileScriptConfig;
let compiler: Promise<Compile> | undefined;

/** config.ts and Ajv, imported once; a failed import is the task's error and is tried again next time. */
function loadCompiler(): Promise<Compile> {
  compiler ??= import('./config.js').then(
    (module) => module.compileScriptConfig,
    (error: unknown) => {
      compiler = undefined;
      throw new ParError(
        'PAR_ERR_ACTION_FAILED',
        `the script config compiler (ajv) could not be loaded: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    },
  );
  return compiler;
}

interface CacheEntry {
  readonly version: string;
  readonly result: { ok: true; config: ScriptConfig } | { ok: false; error: ParError };
}

export class ScriptConfigStore {
  private readonly cache = new Map<string, CacheEntry>();

  /**
   * Reads the file through `readConfigFile` (confined when it comes from a connection; a regular
   * file of at most 1 MiB, read with a deadline), then parses and compiles it only when its
   * version changed.
   */
  async load(location: ScriptConfigLocation, signal?: AbortSignal): Promise<ScriptConfig> {
    const { label } = location;
    const file = await readConfigFile({
      configDir: location.confineTo ?? dirname(location.path),
      path: location.confineTo !== undefined ? (location.relativePath ?? location.path) : location.path,
      confine: location.confineTo !== undefined,
      failCode: 'PAR_ERR_SCRIPT_CONFIG_INVALID',
      label,
      maxBytes: MAX_SCRIPT_CONFIG_BYTES,
      signal,
    });
    const cached = this.cache.get(file.realPath);
    if (cached?.version === file.version) {
      if (cached.result.ok) return cached.result.config;
      throw cached.result.error;
    }
    const result = parse(await loadCompiler(), file.text, label);
    // Keyed by real path + version: an edited file is picked up by the next task.
    this.cache.set(file.realPath, { version: file.version, result });
    if (result.ok) return result.config;
    throw result.error;
  }
}

function parse(compileScriptConfig: Compile, text: string, label: string): CacheEntry['result'] {
  let doc: unknown;
  let source: unknown;
  try {
    doc = parseYaml(text);
    // Every scalar as its source text: `command` elements are taken verbatim (`1.50`, `true`).
    source = parseYaml(text, { schema: 'failsafe' });
  } catch (error) {
    const line = error instanceof YAMLParseError ? error.linePos?.[0]?.line : undefined;
    return { ok: false, error: invalid(label, `not valid YAML${line ? ` (line ${line})` : ''}`) };
  }
  const compiled = compileScriptConfig(doc, source);
  if (!compiled.ok) return { ok: false, error: invalid(label, compiled.problem) };
  return { ok: true, config: compiled.config };
}
