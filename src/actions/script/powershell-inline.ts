/**
 * Inline PowerShell scripts (`script:` entries), as the vendor runs them: parameter values never
 * enter the script as code. Every `{{ parameters.a.b }}` in the body becomes a variable reference
 * (`$__par_a_b`), and a preamble binds each variable to its value as a single-quoted literal
 * (PowerShell expands nothing inside single quotes; `'` is doubled). Objects and arrays are bound
 * as their JSON text. Paths not rooted at `parameters` render empty; at most 5 levels deep.
 */
import { goJson, lookupPath, plainDecimal, renderWith, templatePaths, type Template } from '../template.js';

export const MAX_PARAMETER_DEPTH = 5;

function variableName(path: readonly string[]): string {
  const parts = path.slice(1).map((p) => p.replace(/[^A-Za-z0-9_]/g, '_') || '_');
  return `__par_${parts.join('_')}`;
}

export function singleQuote(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** A value as a PowerShell literal expression that cannot break out of its assignment. */
export function powershellLiteral(value: unknown): string {
  if (value === null || value === undefined) return '$null';
  if (typeof value === 'boolean') return value ? '$true' : '$false';
  // The vendor prints whole numbers with FormatInt, so -0 is 0 there.
  if (typeof value === 'number') return Object.is(value, -0) ? '0' : plainDecimal(value);
  if (typeof value === 'string') return singleQuote(value);
  return singleQuote(goJson(value));
}

const isParameterPath = (path: readonly string[]): boolean => path.length >= 2 && path[0] === 'parameters';

/** The script text to hand to `pwsh -Command`; throws a plain Error naming a too-deep path. */
export function renderInlinePowershell(body: Template, parameters: unknown): string {
  const order: Array<readonly string[]> = [];
  const seen = new Set<string>();
  for (const path of templatePaths(body)) {
    if (!isParameterPath(path)) continue;
    if (path.length - 1 > MAX_PARAMETER_DEPTH)
      throw new Error(`parameter path "${path.join('.')}" is deeper than ${MAX_PARAMETER_DEPTH} levels`);
    const name = variableName(path);
    if (!seen.has(name)) {
      seen.add(name);
      order.push(path);
    }
  }
  const preamble = order.map((path) => `$${variableName(path)} = ${powershellLiteral(lookupPath(parameters, path.slice(1)))}`);
  const rewritten = renderWith(body, (part) => (isParameterPath(part.path) ? `$${variableName(part.path)}` : ''));
  return preamble.length > 0 ? `${preamble.join('\n')}\n${rewritten}` : rewritten;
}
