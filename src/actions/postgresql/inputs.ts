/**
 * Input schema of `com.datadoghq.postgresql.select`, in the vendor's shape: one SQL statement in
 * `query` with `$1, $2, ...` placeholders and their values in `parameters`. Values are always
 * sent as bound parameters, never spliced into the text.
 */
import { z } from 'zod';

/** The row cap when the task names none; the worker's PAR_POSTGRES_MAX_ROWS caps it further. */
export const DEFAULT_MAX_ROWS = 1000;
/** The statement timeout when the task names none. */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;
/** The longest statement timeout a task may ask for (the task's own deadline applies as well). */
export const MAX_STATEMENT_TIMEOUT_MS = 600_000;
/** PostgreSQL's protocol limit on bound parameters. */
const MAX_PARAMETERS = 65_535;
/** Longer SQL text is a mistake or an attack on the server's parser. */
const MAX_QUERY_CHARS = 1_000_000;

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
/** A one-level array binds as a PostgreSQL array, for `= ANY($1)`. */
const parameter = z.union([scalar, z.array(scalar)]);

export const postgresSelectInputSchema = z.object({
  query: z
    .string()
    .max(MAX_QUERY_CHARS)
    .refine((q) => q.trim().length > 0, 'must be one SQL statement'),
  parameters: z.array(parameter).max(MAX_PARAMETERS).default([]),
  /** Statement timeout in milliseconds, enforced by PostgreSQL (`SET LOCAL statement_timeout`). */
  timeout: z.number().int().positive().max(MAX_STATEMENT_TIMEOUT_MS).default(DEFAULT_STATEMENT_TIMEOUT_MS),
  /** At most this many rows come back; `truncated` says whether the result had more. */
  maxRows: z.number().int().positive().default(DEFAULT_MAX_ROWS),
});
export type PostgresSelectInput = z.output<typeof postgresSelectInputSchema>;
