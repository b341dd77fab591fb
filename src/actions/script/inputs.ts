/** Input schemas of the `com.datadoghq.script` bundle, in the vendor's field names. */
import { z } from 'zod';

/** Milliseconds, like the http bundle's `timeout`; the task's own deadline applies in any case. */
const timeoutSchema = z.number().int().positive().max(3_600_000);

export const runScriptInputSchema = z.object({
  scriptName: z.string().min(1).max(128),
  /** Values for the script's `{{ parameters.x }}` placeholders, checked against its parameterSchema. */
  parameters: z.record(z.string(), z.unknown()).nullish().transform((p) => p ?? {}),
  timeout: timeoutSchema.optional(),
  /** A non-zero exit is a success carrying `exitCode`, instead of a failure. */
  noFailOnError: z.boolean().default(false),
  /** Keep the final newline of stdout and stderr (stripped by default, like `$(...)` would). */
  noStripTrailingNewline: z.boolean().default(false),
});
export type RunScriptInput = z.output<typeof runScriptInputSchema>;

export const enrichScriptInputSchema = z.object({}).passthrough();
export const scriptTestConnectionInputSchema = z.object({}).passthrough();
