/**
 * The two guards (route-guard.ts) most routes start with: an app-key caller with a scope (plus
 * any check that must answer before the input is validated), and a runner's request JWT.
 */
import type { AuthenticatedRunner } from './runner-auth.js';
import type { ControlPlaneDeps } from '../deps.js';
import { guard, type Guard, type GuardedRequest } from '../route-guard.js';
import type { Scope } from '../store/credentials.js';
import { requireCaller, type Caller } from './access.js';

/** A caller whose app key has `scope` (any valid key for `[]`); `then` may refuse it further. */
export function callerGuard(
  deps: ControlPlaneDeps,
  scope: Scope | readonly Scope[],
  then?: (caller: Caller, request: GuardedRequest) => Promise<void> | void,
): Guard<Caller> {
  return guard(async (request) => {
    const caller = await requireCaller(deps, request.headers, scope);
    if (then) await then(caller, request);
    return caller;
  });
}

/**
 * A runner authenticated by its request JWT (`Authorization: Bearer`). `touch: false` for a route
 * that records `lastSeenAt` itself (RunnerAuthenticator.authenticate).
 */
export function runnerGuard(deps: ControlPlaneDeps, options: { touch?: boolean } = {}): Guard<AuthenticatedRunner> {
  return guard((request) => deps.runnerAuth.authenticate(request.headers.authorization, options));
}
