/**
 * The real actors of `runnerEnrollmentMachine`: read the identity from the config dir, enroll with
 * the control plane (a fresh Ed25519 key pair; the private half never leaves this process and the
 * config dir), and persist the identity as config.yaml (mode 0600).
 */
import { fromPromise } from 'xstate';
import type {
  EnrollInput,
  EnrollOutput,
  LoadIdentityInput,
  LoadIdentityOutput,
  PersistIdentityInput,
  PersistIdentityOutput,
} from '../../machines/runner-enrollment/runner-enrollment.actors.js';
import type { RunnerConfig } from '../config/runner.js';
import { generateSigningKeyPair, type KeyPairJwk } from '../crypto/keys.js';
import { ParError } from '../errors/par-error.js';
import type { Logger } from '../logging/logger.js';
import { PACKAGE_VERSION } from '../version.js';
import type { ControlPlaneClient } from './control-plane-client.js';
import { readIdentity, writeIdentity } from '../lib/identity-file.js';
import { type RunnerIdentity } from '../contracts/runner-identity.js';

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
    // `--enroll -f` always enrolls a new runner and prints it: an identity on disk is not reused.
    loadIdentity: fromPromise<LoadIdentityOutput, LoadIdentityInput>(async () =>
      config.printFormat ? undefined : readIdentity(config.configDir, config.runnerIdentity),
    ),

    enroll: fromPromise<EnrollOutput, EnrollInput>(async ({ input, signal }) => {
      const name = config.runnerName;
      const token = config.enrollmentToken;
      if (!name && !token)
        throw new ParError('PAR_ERR_CONFIG_INVALID', 'RUNNER_NAME (or PAR_RUNNER_NAME) must be set to enroll a new runner');
      if (!token && (!config.apiKey || !config.appKey))
        throw new ParError('PAR_ERR_CONFIG_INVALID', 'DD_API_KEY and DD_APP_KEY must be set to enroll a new runner');
      keyPair ??= generateSigningKeyPair();
      const keys = await keyPair;
      logger.info(
        { attempt: input.attempt, runnerName: name, controlPlaneUrl: config.controlPlaneUrl, with: token ? 'enrollment token' : 'API key' },
        'enrolling runner',
      );
      const body = {
        publicKey: keys.publicJwk as RunnerIdentity['publicKey'],
        allowlist: [...(config.allowlist ?? [])],
        modes: [...config.modes],
        version: PACKAGE_VERSION,
      };
      // With a token the control plane knows the runner (and its name); keys need the name.
      const result = token
        ? await client.enrollWithToken(token, { ...body, ...(name ? { name } : {}) }, signal)
        : await client.enroll(config.apiKey ?? '', config.appKey ?? '', { ...body, name: name ?? '' }, signal);
      if (!result.ok) throw result.error;
      const enrolled = result.value;
      return {
        ddBaseURL: config.controlPlaneUrl,
        urn: enrolled.urn,
        runnerId: enrolled.runnerId,
        orgId: enrolled.orgId,
        runnerName: enrolled.name,
        modes: [...config.modes],
        actionsAllowlist: [...(config.allowlist ?? enrolled.allowlist ?? [])],
        privateKey: keys.privateJwk as RunnerIdentity['privateKey'],
        publicKey: keys.publicJwk as RunnerIdentity['publicKey'],
        controlPlaneKeys: enrolled.controlPlaneKeys,
        enrolledAt: (deps.now ?? (() => new Date()))().toISOString(),
      };
    }),

    persistIdentity: fromPromise<PersistIdentityOutput, PersistIdentityInput>(async ({ input }) => {
      // `--enroll -f`: the identity is printed by the caller, never written to the config dir.
      if (config.printFormat) return input.identity;
      try {
        const path = await writeIdentity(config.configDir, input.identity);
        logger.info({ path, runnerId: input.identity.runnerId }, 'runner enrolled; identity written');
        return input.identity;
      } catch (error) {
        if (error instanceof ParError) throw error;
        throw new ParError(
          'PAR_ERR_CONFIG_INVALID',
          `cannot write the runner identity in ${config.configDir} (DD_PRIVATE_RUNNER_CONFIG_DIR): ${(error as Error).message}`,
          { cause: error },
        );
      }
    }),
  };
}
