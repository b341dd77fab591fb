/**
 * The canonical serialisation the audit chain hashes and stores: JSON with object keys sorted
 * (UTF-16 code-unit order, as RFC 8785 sorts) at every depth, no whitespace, no `undefined` members. Audit entries hold only
 * strings, booleans, safe integers and nested objects of those, so this is a fixed function of
 * the entry's content (RFC 8785 for that subset): a verifier in any language can recompute it.
 */
import { createHash } from 'node:crypto';

export type CanonicalValue = string | number | boolean | null | CanonicalValue[] | { [key: string]: CanonicalValue | undefined };

export function canonicalJson(value: CanonicalValue | undefined): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isSafeInteger(value)) throw new TypeError(`audit entries hold safe integers only, got ${value}`);
      return String(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
      const keys = Object.keys(value)
        .filter((k) => value[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
    }
    default:
      throw new TypeError(`cannot serialise ${typeof value} in an audit entry`);
  }
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
