/**
 * What a process loads, seen from outside: lazy-load tests run a module script in a fresh node
 * process (TypeScript through tsx, from the repository root, so `./src/...` imports work) and read
 * the JSON object its last output line prints. `refuseModules` gives the script's first line when
 * the process's module resolution must refuse some modules (a resolve hook throwing `message`).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A script line registering a resolve hook that refuses every specifier for which `condition` (JS over `specifier`) holds. */
export function refuseModules(condition: string, message: string): string {
  const hook = `export async function resolve(specifier, context, next) { if (${condition}) throw new Error(${JSON.stringify(message)}); return next(specifier, context); }`;
  return `import { register as registerHook } from 'node:module';\nregisterHook('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));`;
}

/**
 * Runs `script` (an ES module) in a fresh node process; resolves with the JSON its last output line
 * prints. `tsx: false`: plain node (JavaScript only), for what must not carry tsx's own cost.
 */
export async function runFreshScript(script: string, options: { tsx?: boolean } = {}): Promise<Record<string, unknown>> {
  const loader = options.tsx === false ? [] : ['--import', 'tsx'];
  const { stdout } = await promisify(execFile)(process.execPath, [...loader, '--input-type=module', '-e', script], {
    cwd: ROOT,
    timeout: 60_000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}
