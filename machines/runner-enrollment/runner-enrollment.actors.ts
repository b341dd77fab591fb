/**
 * Actor contracts of the runner enrollment machine. The machine names these actors; the runner
 * (`src/runner/enrollment-actors.ts`) provides the real ones with `.provide()`, tests provide fakes.
 * The placeholders below fail loudly, so a machine started without its actors cannot pretend to
 * have enrolled.
 */
import { fromPromise } from 'xstate';
import type { RunnerIdentity } from '../../src/contracts/runner-identity.js';
import { ParError } from '../../src/errors/par-error.js';

/** The identity load takes no input (XState's `void`: invoked without `input`). */
// eslint-disable-next-line @typescript-eslint/no-invalid-void-type -- XState types an actor invoked without `input` by `void`; its implementations (runner, tests) declare it so
export type LoadIdentityInput = void;
/** Reads the identity from the config dir. Resolves `undefined` when none exists yet; rejects (ParError) when it is unreadable. */
export type LoadIdentityOutput = RunnerIdentity | undefined;

export interface EnrollInput {
  /** 1 for the first try, 2 after the first retryable failure, ... */
  attempt: number;
}
/**
 * Enrolls with the control plane and resolves the identity to persist (not yet written).
 * Rejects with a ParError: `retryable` (network, 5xx, 429) means "back off and try again",
 * anything else is fatal (refused key, missing scope, name taken, bad settings).
 */
export type EnrollOutput = RunnerIdentity;

export interface PersistIdentityInput {
  identity: RunnerIdentity;
}
/** Writes the identity (mode 0600) and resolves it; rejects with a ParError when it cannot. */
export type PersistIdentityOutput = RunnerIdentity;

const notProvided = (name: string) => (): Promise<never> =>
  Promise.reject(new ParError('PAR_ERR_INTERNAL', `runnerEnrollmentMachine: actor "${name}" was not provided`, { retryable: false }));

export const loadIdentityActor = fromPromise<LoadIdentityOutput, LoadIdentityInput>(notProvided('loadIdentity'));
export const enrollActor = fromPromise<EnrollOutput, EnrollInput>(notProvided('enroll'));
export const persistIdentityActor = fromPromise<PersistIdentityOutput, PersistIdentityInput>(notProvided('persistIdentity'));
