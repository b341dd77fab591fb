/**
 * The `pg` driver, loaded on the first PostgreSQL task rather than at worker start, as the
 * Kubernetes library and the MongoDB driver are: most workers never run a PostgreSQL action. Loaded
 * once; a failed load is reported as the task's error and tried again by the next task.
 */
import { ParError } from '../../errors/par-error.js';

export type PgLibrary = typeof import('pg').default;

let loading: Promise<PgLibrary> | undefined;
let loaded: PgLibrary | undefined;

export function pgLibrary(): Promise<PgLibrary> {
  loading ??= import('pg').then(
    (module) => {
      loaded = module.default;
      return loaded;
    },
    (error: unknown) => {
      loading = undefined;
      throw new ParError(
        'PAR_ERR_ACTION_FAILED',
        `the PostgreSQL driver (pg) could not be loaded: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    },
  );
  return loading;
}

/** pg once loaded, else undefined: before the first PostgreSQL task no pg object (a DatabaseError) can exist. */
export function loadedPg(): PgLibrary | undefined {
  return loaded;
}
