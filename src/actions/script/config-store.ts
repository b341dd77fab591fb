/**
 * Finds, reads and caches the script config. Two places can hold it:
 *  - the task's connection, when it is a script connection: its `credentialPath` (relative to the
 *    config dir, and it must stay inside it after symlinks: the path comes from the control plane);
 *  - otherwise the worker's own file, `PAR_SCRIPT_CONFIG_FILE` (default `script-config.yaml` in
 *    the config dir; chosen by the operator, so it may be absolute).
 *
 * Each task stats the file; it is parsed and compiled again only when its mtime, size or inode
 * changed. Errors name the file and the problem, never its contents (a YAML parser's message
 * quotes the offending line, so it is not passed on).
 */
import { open, realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { ConnectionRef } from '../../contracts/task.js';
import { ParError } from '../../errors/par-error.js';
import { compileScriptConfig, type ScriptConfig } from './config.js';

export const MAX_SCRIPT_CONFIG_BYTES = 1024 * 1024;

/** Integration names that mark a connection whose credential file is a script config. */
const SCRIPT_INTEGRATIONS: ReadonlySet<string> = new Set(['script', 'com.datadoghq.script']);

export interface ScriptConfigLocation {
  /** Absolute path of the file to read. */
  readonly path: string;
  /** How errors name it: as the user wrote it. */
  readonly label: string;
  /** When set, the real path must stay inside this directory. */
  readonly confineTo?: string | undefined;
}

export function isScriptConnection(connection: ConnectionRef | undefined): boolean {
  return connection !== undefined && SCRIPT_INTEGRATIONS.has(connection.integration.toLowerCase());
}

export function locateScriptConfig(configDir: string, configFile: string, connection: ConnectionRef | undefined): ScriptConfigLocation {
  const root = resolve(configDir);
  if (isScriptConnection(connection) && connection?.credentialPath) {
    return { path: resolve(root, connection.credentialPath), label: connection.credentialPath, confineTo: root };
  }
  return { path: resolve(root, configFile), label: configFile };
}

function inside(root: string, candidate: string): boolean {
  const rel = relative(root, candidate);
  return rel.length > 0 && !rel.startsWith('..') && !isAbsolute(rel);
}

function invalid(label: string, problem: string): ParError {
  return new ParError('PAR_ERR_SCRIPT_CONFIG_INVALID', `${label}: ${problem}`);
}

interface CacheEntry {
  readonly version: string;
  readonly result: { ok: true; config: ScriptConfig } | { ok: false; error: ParError };
}

export class ScriptConfigStore {
  private readonly cache = new Map<string, CacheEntry>();

  async load(location: ScriptConfigLocation): Promise<ScriptConfig> {
    const { label } = location;
    let real = location.path;
    if (location.confineTo !== undefined) {
      if (!inside(location.confineTo, location.path)) throw invalid(label, 'path is outside the config dir');
      try {
        const [r, root] = await Promise.all([realpath(location.path), realpath(location.confineTo)]);
        if (!inside(root, r)) throw invalid(label, 'path leads outside the config dir');
        real = r;
      } catch (error) {
        if (error instanceof ParError) throw error;
        throw invalid(label, (error as NodeJS.ErrnoException).code ?? 'cannot be resolved');
      }
    }
    let version: string;
    try {
      const s = await stat(real);
      if (!s.isFile()) throw invalid(label, 'not a regular file');
      version = `${s.ino}:${s.size}:${s.mtimeMs}`;
    } catch (error) {
      if (error instanceof ParError) throw error;
      throw invalid(label, (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as NodeJS.ErrnoException).code ?? 'unreadable');
    }
    const cached = this.cache.get(real);
    if (cached?.version === version) {
      if (cached.result.ok) return cached.result.config;
      throw cached.result.error;
    }
    const result = await this.read(real, label);
    // Keyed by real path + version: an edited file is picked up by the next task.
    this.cache.set(real, { version, result });
    if (result.ok) return result.config;
    throw result.error;
  }

  private async read(path: string, label: string): Promise<CacheEntry['result']> {
    let text: string;
    let handle;
    try {
      handle = await open(path, 'r');
      const { size } = await handle.stat();
      if (size > MAX_SCRIPT_CONFIG_BYTES) return { ok: false, error: invalid(label, `larger than ${MAX_SCRIPT_CONFIG_BYTES} bytes`) };
      text = await handle.readFile('utf8');
    } catch (error) {
      return { ok: false, error: invalid(label, (error as NodeJS.ErrnoException).code ?? 'unreadable') };
    } finally {
      await handle?.close();
    }
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
}
