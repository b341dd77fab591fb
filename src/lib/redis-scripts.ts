/**
 * THE loader of our Redis Lua scripts. Each script is one file in `./lua/` (control plane and
 * runner alike); shared fragments live in `./lua/includes/` and are inlined where a script says
 * `--- @include "name"` (as BullMQ does). Scripts are registered on a connection with ioredis
 * `defineCommand` the first time a script runs on it, so ioredis sends EVALSHA and falls back
 * to the source by itself after a SCRIPT FLUSH or a failover (NOSCRIPT).
 *
 * The files are read once, at import, relative to this module (`new URL('./lua/…',
 * import.meta.url)`): from sources under tsx, and from a compiled build as long as the build
 * copies every `.lua` file of src/lib/lua (with includes/) next to the compiled module. A missing
 * file fails at start-up.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from './redis-connection.js';

/** Every script: file name (without `.lua`) -> number of KEYS it takes. */
export const LUA_SCRIPTS = {
  'enrollment-token-consume': 1,
  'enrollment-token-create': 6,
  'enrollment-token-reissue': 2,
  'lease-extend-all': 1,
  'lease-heartbeat': 2,
  'lease-ready-tasks': 5,
  'lease-sweep': 1,
  'result-record': 4,
  'result-record-batch': 3,
  'runner-delete': 10,
  'runner-enroll': 4,
  'runner-health-record': 2,
  'runner-key-rotate': 2,
  'runner-lease-remove-if-current': 1,
  'runner-touch': 1,
  'signing-key-rotate': 2,
  'task-cancel': 5,
  'task-enqueue': 3,
  'task-submit': 5,
} as const satisfies Record<string, number>;

export type LuaScriptName = keyof typeof LUA_SCRIPTS;

type Tuple<N extends number, T extends readonly string[] = []> = T['length'] extends N ? T : Tuple<N, readonly [...T, string]>;
/** The keys a script takes, as a tuple of its exact length. */
export type ScriptKeys<S extends LuaScriptName> = Tuple<(typeof LUA_SCRIPTS)[S]>;

const INCLUDE = /^--- @include "([a-z0-9-]+)"[ \t]*$/gm;

function readLua(relative: string): string {
  return readFileSync(new URL(`./lua/${relative}`, import.meta.url), 'utf8');
}

/** The script's source with its includes inlined (each include at most once). */
export function loadLuaSource(name: string, seen: Set<string> = new Set()): string {
  return inline(readLua(`${name}.lua`), seen);
}

function inline(source: string, seen: Set<string>): string {
  return source.replace(INCLUDE, (_line, include: string) => {
    if (seen.has(include)) return '';
    seen.add(include);
    return inline(readLua(`includes/${include}.lua`), seen).replace(/\n$/, '');
  });
}

const SOURCES: ReadonlyMap<LuaScriptName, string> = new Map(
  (Object.keys(LUA_SCRIPTS) as LuaScriptName[]).map((name) => [name, loadLuaSource(name)]),
);

/** The ioredis command name a script is registered under (never an existing Redis command). */
export function luaCommandName(name: LuaScriptName): string {
  return `par_${name.replace(/-/g, '_')}`;
}

const registered = new WeakSet<Redis>();

/** Defines every script as a command on this connection (once per connection; idempotent). */
export function registerLuaScripts(redis: Redis): void {
  if (registered.has(redis)) return;
  for (const [name, lua] of SOURCES) {
    redis.defineCommand(luaCommandName(name), { numberOfKeys: LUA_SCRIPTS[name], lua });
  }
  registered.add(redis);
}

type ScriptCommand = (...keysAndArgs: (string | number)[]) => Promise<unknown>;

/** Runs a script atomically on this connection; registers the scripts on first use. */
export async function runLuaScript<S extends LuaScriptName>(
  redis: Redis,
  name: S,
  keys: ScriptKeys<S>,
  args: readonly (string | number)[],
): Promise<unknown> {
  const keyList = keys as readonly string[];
  if (keyList.length !== LUA_SCRIPTS[name]) throw new Error(`Lua script ${name} takes ${LUA_SCRIPTS[name]} keys, got ${keyList.length}`);
  registerLuaScripts(redis);
  const command = (redis as unknown as Record<string, ScriptCommand | undefined>)[luaCommandName(name)];
  if (typeof command !== 'function') throw new Error(`Lua script ${name} is not registered on this connection`);
  return command.call(redis, ...keyList, ...args);
}
