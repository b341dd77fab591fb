import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedClock, createActor, fromPromise, toPromise, waitFor } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import {
  runnerEnrollmentMachine,
  type RunnerEnrollmentInput,
  type RunnerEnrollmentOutput,
} from '../../machines/runner-enrollment/runner-enrollment.machine.js';
import type { EnrollInput, LoadIdentityInput, PersistIdentityInput } from '../../machines/runner-enrollment/runner-enrollment.actors.js';
import { ENROLL_BACKOFF_EVENT } from '../../machines/runner-enrollment/runner-enrollment.events.js';
import { ParError } from '../../src/errors/par-error.js';
import type { RunnerIdentity } from '../../src/contracts/runner-identity.js';
import { backoffDelayMs } from '../../src/lib/backoff.js';

const identity: RunnerIdentity = {
  ddBaseURL: 'http://127.0.0.1:7700',
  urn: 'urn:dd:apps:on-prem-runner:us1:org1:runner1',
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

const withKeys: RunnerEnrollmentInput = { hasApiKey: true, hasAppKey: true, withApiKey: true, configDir: '/cfg', enrollBackoffMaxMs: 5 };

interface Fakes {
  load?: () => Promise<RunnerIdentity | undefined>;
  enroll?: (input: EnrollInput) => Promise<RunnerIdentity>;
  persist?: (input: PersistIdentityInput) => Promise<RunnerIdentity>;
}

function machineWith(fakes: Fakes) {
  return runnerEnrollmentMachine.provide({
    actors: {
      loadIdentity: fromPromise(async () => (fakes.load ? fakes.load() : undefined)),
      enroll: fromPromise<RunnerIdentity, EnrollInput>(async ({ input }) => (fakes.enroll ? fakes.enroll(input) : identity)),
      persistIdentity: fromPromise<RunnerIdentity, PersistIdentityInput>(async ({ input }) =>
        fakes.persist ? fakes.persist(input) : input.identity,
      ),
    },
    delays: { enrollBackoff: 1 },
  });
}

async function run(fakes: Fakes, input: RunnerEnrollmentInput = withKeys): Promise<RunnerEnrollmentOutput> {
  const actor = createActor(machineWith(fakes), { input });
  actor.start();
  return toPromise(actor);
}

test('an identity on disk is used as is: no enrollment', async () => {
  let enrolls = 0;
  const out = await run({
    load: async () => identity,
    enroll: async () => {
      enrolls++;
      return identity;
    },
  });
  assert.deepEqual(out, { status: 'ready', identity, enrolled: false });
  assert.equal(enrolls, 0);
});

test('no identity + keys: enrolls, persists, ready with the persisted identity', async () => {
  const persisted: RunnerIdentity[] = [];
  const out = await run({
    persist: async ({ identity: id }) => {
      persisted.push(id);
      return id;
    },
  });
  assert.equal(out.status, 'ready');
  assert.equal(persisted.length, 1);
  assert.deepEqual(out, { status: 'ready', identity, enrolled: true });
});

test('no identity and no keys: fails naming DD_API_KEY, DD_APP_KEY and --with-api-key', async () => {
  const out = await run({}, { ...withKeys, hasApiKey: false, hasAppKey: false, withApiKey: false });
  assert.equal(out.status, 'failed');
  assert.equal(out.error.code, 'PAR_ERR_CONFIG_INVALID');
  assert.match(out.error.message, /DD_API_KEY/);
  assert.match(out.error.message, /DD_APP_KEY/);
  assert.match(out.error.message, /--with-api-key/);
});

test('--with-api-key with only the API key: the message names the missing app key', async () => {
  const out = await run({}, { ...withKeys, hasAppKey: false });
  assert.ok(out.status === 'failed');
  assert.match(out.error.message, /but DD_APP_KEY \(or PAR_APP_KEY\) is not set/);
});

for (const [code, named] of [
  ['PAR_ERR_AUTH_API_KEY_INVALID', /API key \(DD_API_KEY/],
  ['PAR_ERR_AUTH_APP_KEY_INVALID', /application key \(DD_APP_KEY/],
  ['PAR_ERR_AUTH_SCOPE_MISSING', /DD_APP_KEY.*on_prem_runner_write/],
  ['PAR_ERR_ENROLL_NAME_TAKEN', /RUNNER_NAME/],
] as const) {
  test(`${code} is fatal at once, with a message naming the key or setting`, async () => {
    let attempts = 0;
    const out = await run({
      enroll: async () => {
        attempts++;
        throw new ParError(code);
      },
    });
    assert.ok(out.status === 'failed');
    assert.equal(out.error.code, code);
    assert.match(out.error.message, named);
    assert.equal(attempts, 1);
  });
}

test('network errors and 5xx back off and retry, then enroll (simulated clock: the backoff is waited out)', async () => {
  const clock = new SimulatedClock();
  const attempts: number[] = [];
  const actor = createActor(
    runnerEnrollmentMachine.provide({
      actors: {
        loadIdentity: fromPromise<RunnerIdentity | undefined, LoadIdentityInput>(async () => undefined),
        enroll: fromPromise<RunnerIdentity, EnrollInput>(async ({ input: { attempt } }) => {
          attempts.push(attempt);
          if (attempt === 1) throw new ParError('PAR_ERR_INTERNAL', 'control plane unreachable (ECONNREFUSED)');
          if (attempt === 2) throw new ParError('PAR_ERR_RATE_LIMITED');
          return identity;
        }),
        persistIdentity: fromPromise<RunnerIdentity, PersistIdentityInput>(async ({ input }) => input.identity),
      },
    }),
    { clock, input: { ...withKeys, enrollBackoffMaxMs: 60_000, enrollBackoffInitialMs: 60_000 } },
  );
  actor.start();
  for (const attempt of [1, 2]) {
    await waitFor(actor, (s) => s.matches('backingOff') && s.context.attempt === attempt);
    // The first delay is jittered within [initial / 2, initial]: never shorter than 30 s.
    clock.increment(29_999);
    assert.ok(actor.getSnapshot().matches('backingOff'), `attempt ${attempt}: retried before its backoff`);
    clock.increment(30_001);
  }
  const out = await toPromise(actor);
  assert.equal(out.status, 'ready');
  assert.deepEqual(attempts, [1, 2, 3]);
});

test('the enrollBackoff delay grows exponentially with jitter and is capped at enrollBackoffMaxMs', () => {
  const policy = { initialMs: 100, maxMs: 1000 };
  assert.equal(
    backoffDelayMs(1, policy, () => 0),
    50,
  );
  assert.equal(
    backoffDelayMs(1, policy, () => 1),
    100,
  );
  assert.equal(
    backoffDelayMs(3, policy, () => 1),
    400,
  );
  assert.equal(
    backoffDelayMs(10, policy, () => 1),
    1000,
  );
  assert.equal(
    backoffDelayMs(10_000, policy, () => 0.99),
    995,
  );
  for (let attempt = 1; attempt < 50; attempt++) assert.ok(backoffDelayMs(attempt, policy) <= 1000);
});

test('a retryable failure waits in backingOff; enrollment.retryNow skips the wait', async () => {
  const actor = createActor(
    runnerEnrollmentMachine.provide({
      actors: {
        loadIdentity: fromPromise<RunnerIdentity | undefined, LoadIdentityInput>(async () => undefined),
        enroll: fromPromise<RunnerIdentity, EnrollInput>(async () => {
          throw new ParError('PAR_ERR_INTERNAL');
        }),
      },
    }),
    { input: { ...withKeys, enrollBackoffMaxMs: 60_000, enrollBackoffInitialMs: 60_000 } },
  );
  actor.start();
  // With a one-minute delay nothing would happen in this test's lifetime: the machine waits in backingOff.
  const snap = await waitFor(actor, (s) => s.matches('backingOff'), { timeout: 1000 });
  assert.equal(snap.context.lastError?.code, 'PAR_ERR_INTERNAL');
  actor.send({ type: 'enrollment.retryNow' });
  await waitFor(actor, (s) => s.matches('backingOff') && s.context.attempt === 2, { timeout: 1000 });
  actor.stop();
});

test('an unreadable identity file fails with PAR_ERR_ENROLL_IDENTITY_INVALID', async () => {
  const out = await run({
    load: async () => {
      throw new ParError('PAR_ERR_ENROLL_IDENTITY_INVALID', '/cfg/config.yaml: not valid YAML');
    },
  });
  assert.ok(out.status === 'failed');
  assert.equal(out.error.code, 'PAR_ERR_ENROLL_IDENTITY_INVALID');
});

test('a persist failure is fatal', async () => {
  const out = await run({
    persist: async () => {
      throw new ParError('PAR_ERR_CONFIG_INVALID', 'EACCES');
    },
  });
  assert.ok(out.status === 'failed');
  assert.equal(out.error.code, 'PAR_ERR_CONFIG_INVALID');
});

test('leaving enrolling cancels the in-flight enroll request (AbortSignal)', async () => {
  let aborted = false;
  const actor = createActor(
    runnerEnrollmentMachine.provide({
      actors: {
        loadIdentity: fromPromise<RunnerIdentity | undefined, LoadIdentityInput>(async () => undefined),
        enroll: fromPromise<RunnerIdentity, EnrollInput>(
          ({ signal }) =>
            new Promise((_, reject) => {
              signal.addEventListener('abort', () => {
                aborted = true;
                reject(new Error('aborted'));
              });
            }),
        ),
      },
    }),
    { input: withKeys },
  );
  actor.start();
  await waitFor(actor, (s) => s.matches('enrolling'));
  actor.stop();
  assert.equal(aborted, true);
});

test('every state is reachable (xstate/graph)', () => {
  const retryable = new ParError('PAR_ERR_INTERNAL');
  const fatal = new ParError('PAR_ERR_AUTH_API_KEY_INVALID');
  const events = [
    { type: 'xstate.done.actor.loadIdentity', output: identity },
    { type: 'xstate.done.actor.loadIdentity', output: undefined },
    { type: 'xstate.error.actor.loadIdentity', error: fatal },
    { type: 'xstate.done.actor.enroll', output: identity },
    { type: 'xstate.error.actor.enroll', error: retryable },
    { type: 'xstate.error.actor.enroll', error: fatal },
    { type: ENROLL_BACKOFF_EVENT },
    { type: 'enrollment.retryNow' },
    { type: 'xstate.done.actor.persistIdentity', output: identity },
    { type: 'xstate.error.actor.persistIdentity', error: fatal },
  ] as unknown as Array<{ type: 'enrollment.retryNow' }>;
  // Serialize by state value only: the attempt counter would otherwise make backingOff <-> enrolling
  // an endless series of distinct states.
  const paths = getShortestPaths(runnerEnrollmentMachine, {
    events,
    input: withKeys,
    serializeState: (s) => JSON.stringify(s.value),
    limit: 1000,
  });
  const reached = new Set<string>(paths.map((p) => p.state.value));
  for (const state of Object.keys(runnerEnrollmentMachine.root.states)) {
    assert.ok(reached.has(state), `state ${state} is reachable`);
  }
  assert.deepEqual([...reached].sort(), ['backingOff', 'enrolling', 'failed', 'loadingIdentity', 'persisting', 'ready']);
});
