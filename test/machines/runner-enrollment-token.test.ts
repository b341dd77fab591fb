/** runnerEnrollmentMachine with a one-time enrollment token instead of API + app keys. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createActor, fromPromise, toPromise } from 'xstate';
import {
  runnerEnrollmentMachine,
  type RunnerEnrollmentInput,
  type RunnerEnrollmentOutput,
} from '../../machines/runner-enrollment/runner-enrollment.machine.js';
import type { EnrollInput, LoadIdentityInput, PersistIdentityInput } from '../../machines/runner-enrollment/runner-enrollment.actors.js';
import { ParError } from '../../src/errors/par-error.js';
import type { RunnerIdentity } from '../../src/contracts/runner-identity.js';

const identity: RunnerIdentity = {
  ddBaseURL: 'http://127.0.0.1:7700',
  urn: 'urn:par:runner:org1:runner1',
  runnerId: 'runner1',
  orgId: 'org1',
  runnerName: 'r1',
  modes: ['pull'],
  actionsAllowlist: [],
  privateKey: { kty: 'OKP' },
  publicKey: { kty: 'OKP' },
  controlPlaneKeys: { keys: [{ kty: 'OKP' }] },
  enrolledAt: '2024-01-01T00:00:00.000Z',
};

const noKeys: RunnerEnrollmentInput = { hasApiKey: false, hasAppKey: false, withApiKey: false, configDir: '/cfg', enrollBackoffMaxMs: 5 };

function run(input: RunnerEnrollmentInput, enroll: () => Promise<RunnerIdentity>): Promise<RunnerEnrollmentOutput> {
  const machine = runnerEnrollmentMachine.provide({
    actors: {
      loadIdentity: fromPromise<RunnerIdentity | undefined, LoadIdentityInput>(async () => undefined),
      enroll: fromPromise<RunnerIdentity, EnrollInput>(() => enroll()),
      persistIdentity: fromPromise<RunnerIdentity, PersistIdentityInput>(async ({ input: i }) => i.identity),
    },
    delays: { enrollBackoff: 1 },
  });
  const actor = createActor(machine, { input });
  actor.start();
  return toPromise(actor);
}

test('a token alone is enough to enroll', async () => {
  const out = await run({ ...noKeys, hasEnrollmentToken: true }, async () => identity);
  assert.deepEqual(out, { status: 'ready', identity, enrolled: true });
});

test('without keys or token the failure names the token as a way out', async () => {
  let enrolls = 0;
  const out = await run(noKeys, async () => {
    enrolls++;
    return identity;
  });
  assert.equal(out.status, 'failed');
  assert.equal(enrolls, 0);
  assert.match(out.error.message, /--enrollment-token \/ PAR_ENROLLMENT_TOKEN/);
});

test('a used token fails at once (no retry) and says where the token came from', async () => {
  let enrolls = 0;
  const out = await run({ ...noKeys, hasEnrollmentToken: true }, async () => {
    enrolls++;
    throw new ParError('PAR_ERR_ENROLL_TOKEN_USED', 'this enrollment token was already used by a runner');
  });
  assert.equal(enrolls, 1);
  assert.equal(out.status, 'failed');
  assert.equal(out.error.code, 'PAR_ERR_ENROLL_TOKEN_USED');
  assert.match(out.error.message, /already used.*PAR_ENROLLMENT_TOKEN/);
});
