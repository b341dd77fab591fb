/**
 * The `com.datadoghq.jenkins` bundle. It owns no connection pool: the registry hands it the HTTP
 * bundle's policy-guarded dispatcher (certificate-verifying pool), so Jenkins requests obey the
 * same host allowlist (PAR_HTTP_HOST_ALLOWLIST) and blocked address ranges as `http.request`,
 * decided per socket. It imports nothing from that bundle: only undici's Dispatcher type.
 */
import type { Dispatcher } from 'undici';
import type { RegisteredAction } from '../action.js';
import { jenkinsActions } from './actions.js';

export interface JenkinsBundle {
  readonly actions: readonly RegisteredAction[];
  close(): Promise<void>;
}

export function createJenkinsBundle(options: { dispatcher: Dispatcher }): JenkinsBundle {
  return { actions: jenkinsActions(options.dispatcher), close: () => Promise.resolve() };
}
