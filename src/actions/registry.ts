/**
 * The explicit map of action FQN -> implementation. A new bundle is one import and one line in
 * `createActionRegistry`; bundles import no other bundle. The registry owns the bundles'
 * long-lived resources (HTTP connection pools), so one registry per worker process.
 */
import type { RegisteredAction } from './action.js';
import { createHttpBundle, type HttpBundleOptions } from './http/bundle.js';
import { createScriptBundle, type ScriptBundleOptions } from './script/bundle.js';
import { createKubernetesBundles, type KubernetesBundleOptions } from './kubernetes/bundle.js';
import { createPostgresqlBundle, type PostgresqlBundleOptions } from './postgresql/bundle.js';
import { createJenkinsBundle } from './jenkins/bundle.js';
import { createGitlabBundle } from './gitlab/bundle.js';
import { createMongodbBundle, type MongodbBundleOptions } from './mongodb/bundle.js';
import { createTemporalBundle, type TemporalBundleOptions } from './temporal/bundle.js';

export interface ActionRegistry {
  get(fqn: string): RegisteredAction | undefined;
  readonly fqns: readonly string[];
  /** Releases pooled resources; running actions should have finished first. */
  close(): Promise<void>;
}

/** Per-bundle settings from the worker's config (absent: each bundle's defaults). */
export interface ActionRegistryOptions {
  readonly script?: ScriptBundleOptions;
  readonly postgresql?: PostgresqlBundleOptions;
  readonly http?: HttpBundleOptions;
  readonly kubernetes?: KubernetesBundleOptions;
  readonly mongodb?: MongodbBundleOptions;
  readonly temporal?: TemporalBundleOptions;
}

export function createActionRegistry(options: ActionRegistryOptions = {}): ActionRegistry {
  const http = createHttpBundle(options.http);
  // Jenkins and GitLab speak HTTP through the HTTP bundle's guarded pool (same network policy).
  const jenkins = createJenkinsBundle({ dispatcher: http.transport.verifying });
  const gitlab = createGitlabBundle({ dispatcher: http.transport.verifying });
  const bundles = [
    http,
    jenkins,
    gitlab,
    ...createKubernetesBundles(options.kubernetes),
    createScriptBundle(options.script),
    createPostgresqlBundle(options.postgresql),
    createMongodbBundle(options.mongodb),
    createTemporalBundle(options.temporal),
  ];
  const actions = new Map<string, RegisteredAction>();
  for (const action of bundles.flatMap((b) => b.actions)) {
    if (actions.has(action.fqn)) throw new Error(`action ${action.fqn} registered twice`);
    actions.set(action.fqn, action);
  }
  return {
    get: (fqn) => actions.get(fqn),
    fqns: Object.freeze([...actions.keys()]),
    close: async () => {
      await Promise.all(bundles.map((b) => b.close()));
    },
  };
}
