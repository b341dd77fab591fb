/**
 * Runs `runnerEnrollmentMachine` with the real actors until it is ready or failed, logging its
 * progress. Resolves the identity; rejects with the ParError an operator must act on.
 */
import { createActor, toPromise } from 'xstate';
import { runnerEnrollmentMachine } from '../../machines/runner-enrollment/runner-enrollment.machine.js';
import type { RunnerConfig } from '../config/runner.js';
import type { ParError } from '../errors/par-error.js';
import type { Logger } from '../logging/logger.js';
import type { ControlPlaneClient } from './control-plane-client.js';
import { enrollmentActors } from './enrollment-actors.js';
import type { RunnerIdentity } from '../contracts/runner-identity.js';

export async function enrollRunner(
  config: RunnerConfig,
  client: ControlPlaneClient,
  logger: Logger,
): Promise<{ identity: RunnerIdentity; enrolled: boolean }> {
  const actor = createActor(runnerEnrollmentMachine.provide({ actors: enrollmentActors({ config, client, logger }) }), {
    input: {
      hasApiKey: Boolean(config.apiKey),
      hasAppKey: Boolean(config.appKey),
      withApiKey: config.withApiKey,
      hasEnrollmentToken: Boolean(config.enrollmentToken),
      configDir: config.configDir,
      enrollBackoffMaxMs: config.enrollBackoffMaxMs,
    },
  });
  let previous: string | undefined;
  actor.subscribe((snapshot) => {
    const state = snapshot.value;
    if (state === previous) return;
    previous = state;
    if (state === 'backingOff') {
      const err: ParError | undefined = snapshot.context.lastError;
      logger.warn({ code: err?.code, err, attempt: snapshot.context.attempt }, 'enrollment failed; retrying with backoff');
    } else {
      logger.debug({ state }, 'enrollment state');
    }
  });
  actor.start();
  const output = await toPromise(actor);
  if (output.status === 'failed') throw output.error;
  return { identity: output.identity, enrolled: output.enrolled };
}
