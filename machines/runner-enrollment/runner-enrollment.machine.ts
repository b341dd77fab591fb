/**
 * Runner enrollment: find the identity in the config dir, or enroll with the control plane and
 * persist the identity it yields. Transient failures (control plane unreachable, 5xx, 429) are
 * retried with jittered exponential backoff; anything the operator must fix ends in `failed` with a
 * message that names the setting. No I/O here: the actors are provided by the runner (and by tests).
 *
 *   loadingIdentity ──found──────────────────────────────────────────────▶ ready
 *        │ none + keys                                                      ▲
 *        ▼                                                                  │
 *    enrolling ──ok──▶ persisting ──ok─────────────────────────────────────┘
 *     ▲    │ retryable
 *     │    ▼
 *    backingOff            (fatal errors from any state) ──▶ failed
 */
import { assign, setup } from 'xstate';
import type { RunnerIdentity } from '../../src/contracts/runner-identity.js';
import { toParError, type ParError } from '../../src/errors/par-error.js';
import { backoffDelayMs, defaultInitialMs } from '../../src/lib/backoff.js';
import { enrollActor, loadIdentityActor, persistIdentityActor } from './runner-enrollment.actors.js';
import { ENROLLMENT_MACHINE_ID, type RunnerEnrollmentEvent } from './runner-enrollment.events.js';
import {
  describeEnrollmentFailure,
  isRetryableEnrollmentError,
  missingEnrollmentKeysError,
  type EnrollmentKeysPresence,
} from './enrollment-failure.js';

export interface RunnerEnrollmentInput extends EnrollmentKeysPresence {
  enrollBackoffMaxMs: number;
  /** First backoff delay before jitter; defaults to a quarter of the cap, at most 500 ms. */
  enrollBackoffInitialMs?: number;
}

export interface RunnerEnrollmentContext {
  input: RunnerEnrollmentInput;
  /** Enrollment attempts started so far. */
  attempt: number;
  identity: RunnerIdentity | undefined;
  /** True when this run enrolled (as opposed to finding an identity on disk). */
  enrolled: boolean;
  /** The last retryable failure, for logs while backing off. */
  lastError: ParError | undefined;
  /** The fatal failure, set on the way to `failed`. */
  error: ParError | undefined;
}

export type RunnerEnrollmentOutput =
  { status: 'ready'; identity: RunnerIdentity; enrolled: boolean } | { status: 'failed'; error: ParError };

export const runnerEnrollmentMachine = setup({
  types: {
    context: {} as RunnerEnrollmentContext,
    events: {} as RunnerEnrollmentEvent,
    input: {} as RunnerEnrollmentInput,
    output: {} as RunnerEnrollmentOutput,
  },
  actors: {
    loadIdentity: loadIdentityActor,
    enroll: enrollActor,
    persistIdentity: persistIdentityActor,
  },
  guards: {
    identityFound: (_, params: { identity: RunnerIdentity | undefined }) => params.identity !== undefined,
    canEnroll: ({ context }) => context.input.hasEnrollmentToken === true || (context.input.hasApiKey && context.input.hasAppKey),
    retryable: (_, params: { error: unknown }) => isRetryableEnrollmentError(params.error),
  },
  delays: {
    enrollBackoff: ({ context }) =>
      backoffDelayMs(context.attempt, {
        initialMs: context.input.enrollBackoffInitialMs ?? defaultInitialMs(context.input.enrollBackoffMaxMs),
        maxMs: context.input.enrollBackoffMaxMs,
      }),
  },
}).createMachine({
  id: ENROLLMENT_MACHINE_ID,
  context: ({ input }) => ({ input, attempt: 0, identity: undefined, enrolled: false, lastError: undefined, error: undefined }),
  initial: 'loadingIdentity',
  states: {
    loadingIdentity: {
      invoke: {
        id: 'loadIdentity',
        src: 'loadIdentity',
        onDone: [
          {
            guard: { type: 'identityFound', params: ({ event }) => ({ identity: event.output }) },
            target: 'ready',
            actions: assign({ identity: ({ event }) => event.output }),
          },
          { guard: 'canEnroll', target: 'enrolling' },
          { target: 'failed', actions: assign({ error: ({ context }) => missingEnrollmentKeysError(context.input) }) },
        ],
        onError: {
          target: 'failed',
          actions: assign({ error: ({ event }) => toParError(event.error, 'PAR_ERR_ENROLL_IDENTITY_INVALID') }),
        },
      },
    },
    enrolling: {
      entry: assign({ attempt: ({ context }) => context.attempt + 1 }),
      invoke: {
        id: 'enroll',
        src: 'enroll',
        input: ({ context }) => ({ attempt: context.attempt }),
        onDone: { target: 'persisting', actions: assign({ identity: ({ event }) => event.output, enrolled: true }) },
        onError: [
          {
            guard: { type: 'retryable', params: ({ event }) => ({ error: event.error }) },
            target: 'backingOff',
            actions: assign({ lastError: ({ event }) => toParError(event.error) }),
          },
          { target: 'failed', actions: assign({ error: ({ event }) => describeEnrollmentFailure(event.error) }) },
        ],
      },
    },
    backingOff: {
      after: { enrollBackoff: 'enrolling' },
      on: { 'enrollment.retryNow': 'enrolling' },
    },
    persisting: {
      invoke: {
        id: 'persistIdentity',
        src: 'persistIdentity',
        // `identity` is always set here: persisting is entered only from enroll's onDone.
        input: ({ context }) => ({ identity: context.identity as RunnerIdentity }),
        onDone: { target: 'ready', actions: assign({ identity: ({ event }) => event.output }) },
        onError: { target: 'failed', actions: assign({ error: ({ event }) => toParError(event.error, 'PAR_ERR_CONFIG_INVALID') }) },
      },
    },
    ready: { type: 'final' },
    failed: { type: 'final' },
  },
  output: ({ context }): RunnerEnrollmentOutput =>
    context.error === undefined && context.identity !== undefined
      ? { status: 'ready', identity: context.identity, enrolled: context.enrolled }
      : { status: 'failed', error: context.error ?? toParError(new Error('enrollment ended without an identity')) },
});
