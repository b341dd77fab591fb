/**
 * Looking through what a library threw: undici, node:http and the drivers wrap the error that
 * matters in `cause` chains and AggregateErrors (one per address tried). Every bundle's classify.ts
 * reads the chain with these two, so they all see the same thing.
 */
import { ParError } from './par-error.js';

const MAX_DEPTH = 4;

/** A ParError raised inside a library's callback (a network-policy refusal), as is or wrapped. */
export function findParError(error: unknown, depth = 0): ParError | undefined {
  if (depth > MAX_DEPTH || error === null || typeof error !== 'object') return undefined;
  if (error instanceof ParError) return error;
  return findParError((error as { cause?: unknown }).cause, depth + 1);
}

/** The first string `code` on the error, its cause chain, or the members of an AggregateError. */
export function errorCodeOf(error: unknown, depth = 0): string | undefined {
  if (depth > MAX_DEPTH || error === null || typeof error !== 'object') return undefined;
  const code = (error as { code?: unknown }).code;
  // undici's generic `UND_ERR` says nothing; the cause usually does.
  if (typeof code === 'string' && code !== 'UND_ERR') return code;
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const found = errorCodeOf(inner, depth + 1);
      if (found) return found;
    }
  }
  return errorCodeOf((error as { cause?: unknown }).cause, depth + 1);
}
