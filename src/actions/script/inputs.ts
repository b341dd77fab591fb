/** Input schemas of the `com.datadoghq.script` bundle, in the vendor's field names. */
import { z } from 'zod';

/**
 * Seconds, as the vendor reads it: > 0 sets the script's own deadline; 0 or less means none (the
 * task's own timeout applies in any case).
 */
const timeoutSchema = z.number().int().max(86_400);

export const runScriptInputSchema = z.object({
  scriptName: z.string().min(1).max(128),
  /** Values for the script's `{{ parameters.x }}` placeholders, checked against its parameterSchema. */
  parameters: z
    .record(z.string(), z.unknown())
    .nullish()
    .transform((p) => p ?? {}),
  timeout: timeoutSchema.optional(),
  /** A non-zero exit is a success carrying `exitCode`, instead of a failure. */
  noFailOnError: z.boolean().default(false),
  /** Keep the final newline of stdout and stderr (stripped by default, like `$(...)` would). */
  noStripTrailingNewline: z.boolean().default(false),
});
export type RunScriptInput = z.output<typeof runScriptInputSchema>;

/** The script picker's query: `search` filters script names, case-insensitively. */
export const enrichScriptInputSchema = z.object({ search: z.string().max(256).optional() }).loose();
export const scriptTestConnectionInputSchema = z.object({}).loose();
