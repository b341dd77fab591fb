/**
 * The `com.datadoghq.postgresql` bundle: its actions share one pool cache (a pg Pool per distinct
 * credential set) and one SQL parser thread for the life of the worker, created here once, closed
 * with the bundle.
 */
import type { RegisteredAction } from '../action.js';
import { DEFAULT_POOL_OPTIONS, PostgresPoolCache, type PoolCacheOptions } from './pools.js';
import { postgresSelectAction } from './select.js';
import { SqlParser } from './sql-parser.js';

/** The hard row cap when the worker sets none (PAR_POSTGRES_MAX_ROWS). */
export const DEFAULT_POSTGRES_MAX_ROWS = 10_000;

export interface PostgresqlBundleOptions {
  /** Hard cap on the rows one task gets back, whatever its `maxRows` says. */
  readonly maxRows?: number;
  readonly pool?: Partial<PoolCacheOptions>;
}

export interface PostgresqlBundle {
  readonly actions: readonly RegisteredAction[];
  /** Exposed for tests and diagnostics: how many credential sets have a pool. */
  readonly pools: PostgresPoolCache;
  /** Exposed for tests: the parser that checks each statement before it is sent. */
  readonly parser: SqlParser;
  close(): Promise<void>;
}

export function createPostgresqlBundle(options: PostgresqlBundleOptions = {}): PostgresqlBundle {
  const pools = new PostgresPoolCache({ ...DEFAULT_POOL_OPTIONS, ...options.pool });
  const parser = new SqlParser();
  const maxRowsCap = options.maxRows ?? DEFAULT_POSTGRES_MAX_ROWS;
  return {
    actions: [postgresSelectAction({ pools, parser, maxRowsCap })],
    pools,
    parser,
    close: async () => {
      await Promise.all([pools.close(), parser.close()]);
    },
  };
}
