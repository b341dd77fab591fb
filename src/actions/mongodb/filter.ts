/**
 * The vendor's filter rules, applied before a filter reaches the driver: only the comparison,
 * element, array and logical operators below; field values are strings, numbers, booleans or
 * nested filters (no null, no arrays outside $in/$nin, no $where, $expr, $regex, $function...,
 * so a filter can never run server-side JavaScript or an aggregation expression); at most 100
 * levels deep. Messages name the key, never a value.
 */
export const ALLOWED_FILTER_OPERATORS: ReadonlySet<string> = new Set([
  '$eq',
  '$ne',
  '$gt',
  '$gte',
  '$lt',
  '$lte',
  '$in',
  '$nin',
  '$exists',
  '$type',
  '$and',
  '$or',
  '$nor',
]);
const LOGICAL = new Set(['$and', '$or', '$nor']);
export const MAX_FILTER_DEPTH = 100;

export const FILTER_HELP =
  'operators: $eq $ne $gt $gte $lt $lte (comparison), $and $or $nor with an array of filters (logical), $exists $type (element), ' +
  '$in $nin with a non-empty array of values (array); field values: string, number, boolean or a nested filter. ' +
  'Example: {"age": {"$gt": 30}} or {"$and": [{"age": {"$gt": 30}}, {"status": "active"}]}';

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isPrimitive(value: unknown): boolean {
  return typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

/** Returns the first problem, or undefined when the filter is acceptable. */
export function filterProblem(filter: Record<string, unknown>, depth = 0): string | undefined {
  if (depth > MAX_FILTER_DEPTH) return 'maximum nesting depth exceeded';
  for (const [key, value] of Object.entries(filter)) {
    if (key.startsWith('$')) {
      if (!ALLOWED_FILTER_OPERATORS.has(key)) return `invalid operator '${key}'`;
      if (LOGICAL.has(key)) {
        if (!Array.isArray(value) || value.length === 0) return `invalid value for logical operator '${key}'`;
        for (const item of value) {
          if (!isObject(item)) return `invalid value for logical operator '${key}'`;
          const problem = filterProblem(item, depth + 2);
          if (problem) return problem;
        }
      } else if (key === '$in' || key === '$nin') {
        if (!Array.isArray(value) || value.length === 0 || !value.every(isPrimitive)) return `invalid value for operator '${key}'`;
      } else if (!isPrimitive(value)) {
        return `invalid value for operator '${key}'`;
      }
    } else if (isObject(value)) {
      const problem = filterProblem(value, depth + 1);
      if (problem) return problem;
    } else if (!isPrimitive(value)) {
      return `invalid value for field '${key}'`;
    }
  }
  return undefined;
}
