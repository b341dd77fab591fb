/**
 * Turns why enrollment could not happen into the message an operator reads at start-up. Messages
 * name the setting (environment variable or flag) to fix, never a key's value.
 */
import { ParError, toParError } from '../../src/errors/par-error.js';

export interface EnrollmentKeysPresence {
  hasApiKey: boolean;
  hasAppKey: boolean;
  /** `--with-api-key` was given: the operator asked for key-based enrollment. */
  withApiKey: boolean;
  configDir: string;
  /** A one-time enrollment token was given (`--enrollment-token`, PAR_ENROLLMENT_TOKEN): enough to enroll. */
  hasEnrollmentToken?: boolean;
}

/** No identity in the config dir and not enough to enroll with. */
export function missingEnrollmentKeysError(keys: EnrollmentKeysPresence): ParError {
  const missing = [
    keys.hasApiKey ? undefined : 'DD_API_KEY (or PAR_API_KEY)',
    keys.hasAppKey ? undefined : 'DD_APP_KEY (or PAR_APP_KEY)',
  ].filter((s): s is string => s !== undefined);
  const lead = keys.withApiKey
    ? `--with-api-key was given but ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set`
    : `no runner identity in ${keys.configDir}/config.yaml and nothing to enroll with`;
  return new ParError(
    'PAR_ERR_CONFIG_INVALID',
    `${lead}: set DD_API_KEY and DD_APP_KEY and start with --with-api-key to enroll this runner, or give a one-time token (--enrollment-token / PAR_ENROLLMENT_TOKEN), or point DD_PRIVATE_RUNNER_CONFIG_DIR at the config dir of an enrolled runner`,
  );
}

/** A fatal enrollment error, restated so the operator knows which key or setting to fix. */
export function describeEnrollmentFailure(error: unknown): ParError {
  const err = toParError(error);
  switch (err.code) {
    case 'PAR_ERR_AUTH_API_KEY_INVALID':
      return new ParError(
        err.code,
        'the control plane refused the API key (DD_API_KEY / PAR_API_KEY): check that it exists and belongs to the org',
        { cause: err },
      );
    case 'PAR_ERR_AUTH_APP_KEY_INVALID':
      return new ParError(
        err.code,
        'the control plane refused the application key (DD_APP_KEY / PAR_APP_KEY): check that it exists and belongs to a user of the org',
        { cause: err },
      );
    case 'PAR_ERR_AUTH_SCOPE_MISSING':
      return new ParError(
        err.code,
        'the application key (DD_APP_KEY / PAR_APP_KEY) lacks the on_prem_runner_write scope needed to enroll a runner',
        { cause: err },
      );
    case 'PAR_ERR_AUTH_FORBIDDEN':
      return new ParError(err.code, 'the owner of the application key (DD_APP_KEY / PAR_APP_KEY) may not enroll runners', { cause: err });
    case 'PAR_ERR_ENROLL_TOKEN_USED':
    case 'PAR_ERR_ENROLL_TOKEN_EXPIRED':
    case 'PAR_ERR_ENROLL_TOKEN_INVALID':
      return new ParError(err.code, `${err.message} (the token came from --enrollment-token / PAR_ENROLLMENT_TOKEN)`, { cause: err });
    case 'PAR_ERR_ENROLL_NAME_TAKEN':
      return new ParError(err.code, 'choose another RUNNER_NAME, or delete the existing runner with this name first', { cause: err });
    default:
      return err;
  }
}

/** Back off and retry (network, 5xx, 429) versus stop (everything the operator must fix). */
export function isRetryableEnrollmentError(error: unknown): boolean {
  return error instanceof ParError && error.retryable;
}
