/**
 * Documents from the driver hold BSON values (ObjectId, Date, Long, Decimal128, Binary...) that
 * JSON would spell badly or not at all. Task outputs are JSON, so each value becomes what the
 * vendor's Go encoding gives: an ObjectId its hex string, a date its ISO-8601 text, a 64-bit
 * integer a number when exact (else its decimal text), a decimal its text, binary data base64.
 * Recognised by the `_bsontype` tag so this file needs no import of the (lazily loaded) driver.
 */
type Tagged = { _bsontype: string } & Record<string, unknown>;

function isTagged(value: object): value is Tagged {
  return typeof (value as { _bsontype?: unknown })._bsontype === 'string';
}

function call(value: Tagged, method: string): unknown {
  const fn = value[method];
  return typeof fn === 'function' ? (fn as () => unknown).call(value) : undefined;
}

function tagged(value: Tagged, depth: number): unknown {
  switch (value._bsontype) {
    case 'ObjectId':
    case 'ObjectID':
      return call(value, 'toHexString');
    case 'Long': {
      const n = call(value, 'toNumber') as number;
      return Number.isSafeInteger(n) ? n : call(value, 'toString');
    }
    case 'Int32':
    case 'Double':
      return call(value, 'valueOf');
    case 'Decimal128':
    case 'BSONSymbol':
    case 'Symbol':
      return call(value, 'toString');
    case 'Binary': {
      const binary = value as unknown as { sub_type: number; toString(encoding: 'base64'): string; toUUID?(): { toHexString(): string } };
      if (binary.sub_type === 4 && typeof binary.toUUID === 'function') {
        try {
          return binary.toUUID().toHexString();
        } catch {
          // not 16 bytes: fall through to base64
        }
      }
      return binary.toString('base64');
    }
    case 'Timestamp':
      return { t: (value as unknown as { t: number }).t, i: (value as unknown as { i: number }).i };
    case 'BSONRegExp':
      return { pattern: value['pattern'], options: value['options'] };
    case 'Code':
      return value['code'];
    case 'MinKey':
      return '$minKey';
    case 'MaxKey':
      return '$maxKey';
    case 'DBRef':
      return { $ref: value['collection'], $id: toPlain(value['oid'], depth + 1), ...(value['db'] ? { $db: value['db'] } : {}) };
    default:
      return call(value, 'toString') ?? null;
  }
}

export function toPlain(value: unknown, depth = 0): unknown {
  if (depth > 200) return null;
  if (value === undefined || value === null) return null;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value !== 'object') return value;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof RegExp) return { pattern: value.source, options: value.flags };
  if (Array.isArray(value)) return value.map((v) => toPlain(v, depth + 1));
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (isTagged(value)) return tagged(value, depth);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = toPlain(v, depth + 1);
  return out;
}

/** A document as a plain JSON object. */
export function plainDocument(doc: unknown): Record<string, unknown> {
  const plain = toPlain(doc);
  return plain !== null && typeof plain === 'object' && !Array.isArray(plain) ? (plain as Record<string, unknown>) : {};
}
