/**
 * `listWorkflows` returns each execution as the vendor does: its output holds the protobuf
 * `WorkflowExecutionInfo` structs of go.temporal.io/api, serialised by Go's encoding/json, whose
 * names come from protoc-gen-go's struct tags: the proto field names (`start_time`,
 * `history_length`), zero values left out, enums as numbers, int64 as numbers, timestamps as
 * `{seconds, nanos}`, bytes as base64. This walks the message with the proto's own reflection
 * (from @temporalio/proto, which the client loads anyway) so map keys (memo, search attributes)
 * stay as they are and only field names are rewritten.
 */

/** The slice of protobufjs reflection used here. */
interface ReflectField {
  readonly name: string;
  readonly map: boolean;
  readonly repeated: boolean;
  readonly resolvedType: ReflectType | { readonly values: unknown } | null;
  resolve(): ReflectField;
}
export interface ReflectType {
  readonly fieldsArray: readonly ReflectField[];
  toObject(message: unknown, options: Record<string, unknown>): Record<string, unknown>;
}

function isMessageType(t: ReflectField['resolvedType']): t is ReflectType {
  return t !== null && typeof t === 'object' && 'fieldsArray' in t;
}

/** `startTime` -> `start_time` (proto field names are lower snake case; protobufjs camel-cases them). */
export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function convert(type: ReflectType, object: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const value = object[field.name];
    if (value === undefined || value === null) continue;
    const resolved = field.resolve().resolvedType;
    let converted: unknown = value;
    if (isMessageType(resolved)) {
      const one = (v: unknown) => convert(resolved, v as Record<string, unknown>);
      if (field.map) converted = Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, one(v)]));
      else if (field.repeated) converted = (value as unknown[]).map(one);
      else converted = one(value);
    }
    if (Array.isArray(converted) && converted.length === 0) continue;
    if (
      converted !== null &&
      typeof converted === 'object' &&
      !Array.isArray(converted) &&
      Object.keys(converted).length === 0 &&
      field.map
    )
      continue;
    out[snakeCase(field.name)] = converted;
  }
  return out;
}

/** A decoded `WorkflowExecutionInfo` message -> the vendor's JSON shape. */
export function goJsonExecutionInfo(type: ReflectType, message: unknown): Record<string, unknown> {
  const object = type.toObject(message, { longs: Number, enums: Number, bytes: String, defaults: false });
  return convert(type, object);
}
