/**
 * The real actors of `runnerEnrollmentMachine`: read the identity from the config dir, enroll with
 * the control plane (a fresh Ed25519 key pair; the private half never leaves this process and the
 * config dir), and persist the identity as config.yaml (mode 0600).
 */
import { fromPromise } from 'xstate';
import type { EnrollInput, EnrollOutput, LoadIdentityOutput, PersistIdentityInput, PersistIdentityOutput } from '../../machines/runner-enrollment/runner-enrollment.actors.js';
import type { RunnerConfig } from '../config/runner.js';
import { generateSigningKeyPair, type KeyPairJwk } from '../crypto/keys.js';
import { ParError } from '../errors/par-error.js';
import type { Logger } from '../logging/logger.js';
import { PACKAGE_VERSION } from '../version.js';
import type { ControlPlaneClient } from './control-plane-client.js';
import { readIdentity, writeIdentity, type RunnerIdentity } from './identity-file.js';

export interface EnrollmentActorDeps {
  config: RunnerConfig;
  client: ControlPlaneClient;
  logger: Logger;
  now?: () => Date;
}

export function enrollmentActors(deps: EnrollmentActorDeps) {
  const { config, client, logger } = deps;
  // One key pair for all attempts of this process: a retry after a lost response then presents
  // the same public key, which a control plane may recognise as the same runner.
  let keyPair: Promise<KeyPairJwk> | undefined;

  return {
    loadIdentity: fromPromise<LoadIdentityOutput, void>(() => readIdentity(config.configDir)),

    enroll: fromPromise<EnrollOutput, EnrollInput>(async ({ input, signal }) => {
      const name = config.runnerName;
      if (!name) throw new ParError('PAR_ERR_CONFIG_INVALID', 'RUNNER_NAME (or PAR_RUNNER_NAME) must be set to enroll a new runner');
      if (!config.apiKey || !config.appKey) throw new ParError('PAR_ERR_CONFIG_INVALID', 'DD_API_KEY and DD_APP_KEY must be set to enroll a new runner');
      keyPair ??= generateSigningKeyPair();
      const keys = await keyPair;
      logger.info({ attempt: input.attempt, runnerName: name, controlPlaneUrl: config.controlPlaneUrl }, 'enrolling runner');
      const result = await client.enroll(config.apiKey, config.appKey, {
        name,
        publicKey: keys.publicJwk as RunnerIdentity['publicKey'],
        allowlist: [...(config.allowlist ?? [])],
        modes: [...config.modes],
        version: PACKAGE_VERSION,
      }, signal);
      if (!result.ok) throw result.error;
      const enrolled = result.value;
      return {
        ddBaseURL: config.controlPlaneUrl,
        urn: enrolled.urn,
        runnerId: enrolled.runnerId,
        orgId: enrolled.orgId,
        runnerName: enrolled.name,
        modes: [...config.modes],
        actionsAllowlist: [...(config.allowlist ?? [])],
        privateKey: keys.privateJwk as RunnerIdentity['privateKey'],
        publicKey: keys.publicJwk as RunnerIdentity['publicKey'],
        controlPlaneKeys: enrolled.controlPlaneKeys,
        enrolledAt: (deps.now ?? (() => new Date()))().toISOString(),
      };
    }),

    persistIdentity: fromPromise<PersistIdentityOutput, PersistIdentityInput>(async ({ input }) => {
      try {
        const path = await writeIdentity(config.configDir, input.identity);
        logger.info({ path, runnerId: input.identity.runnerId }, 'runner enrolled; identity written');
        return input.identity;
      } catch (error) {
        if (error instanceof ParError) throw error;
        throw new ParError('PAR_ERR_CONFIG_INVALID', `cannot write the runner identity in ${config.configDir} (DD_PRIVATE_RUNNER_CONFIG_DIR): ${(error as Error).message}`, { cause: error });
      }
    }),
  };
}
