import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SimulatedClock, createActor, fromPromise, toPromise, waitFor } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import {
  TASK_LIFECYCLE_FINAL_STATES,
  taskLifecycleMachine,
  type TaskLifecycleInput,
  type TaskLifecycleOutput,
} from '../../machines/task-lifecycle/task-lifecycle.machine.js';
import type {
  ExecuteActionInput,
  ResolveCredentialsInput,
  ResolveCredentialsOutput,
  ValidateTaskInput,
} from '../../machines/task-lifecycle/task-lifecycle.actors.js';
import { DEADLINE_EVENT, TASK_LIFECYCLE_ACTOR_IDS } from '../../machines/task-lifecycle/task-lifecycle.events.js';
import { ParError } from '../../src/errors/par-error.js';

const baseInput: TaskLifecycleInput = { taskId: 't1', action: 'com.example.test.run', inputs: { n: 1 }, timeoutMs: 5_000, now: Date.now };

/** Resolves when the signal aborts; never otherwise (an action that honours cancellation). */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
}

interface Fakes {
  validate?: (input: ValidateTaskInput, signal: AbortSignal) => Promise<unknown>;
  resolve?: (input: ResolveCredentialsInput, signal: AbortSignal) => Promise<ResolveCredentialsOutput>;
  execute?: (input: ExecuteActionInput, signal: AbortSignal) => Promise<unknown>;
}

function machineWith(fakes: Fakes) {
  return taskLifecycleMachine.provide({
    actors: {
      validateTask: fromPromise<unknown, ValidateTaskInput>(({ input, signal }) =>
        (fakes.validate ?? ((i) => Promise.resolve(i.inputs)))(input, signal),
      ),
      resolveCredentials: fromPromise<ResolveCredentialsOutput, ResolveCredentialsInput>(({ input, signal }) =>
        (fakes.resolve ?? (() => Promise.resolve(undefined)))(input, signal),
      ),
      executeAction: fromPromise<unknown, ExecuteActionInput>(({ input, signal }) =>
        (fakes.execute ?? (() => Promise.resolve('ok')))(input, signal),
      ),
    },
  });
}

function run(fakes: Fakes, input: Partial<TaskLifecycleInput> = {}): Promise<TaskLifecycleOutput> {
  const actor = createActor(machineWith(fakes), { input: { ...baseInput, ...input } });
  actor.start();
  return toPromise(actor);
}

describe('taskLifecycleMachine', () => {
  it('succeeds: validated inputs and credentials reach the action, its output is the outcome', async () => {
    let seen: ExecuteActionInput | undefined;
    const out = await run(
      {
        validate: async ({ inputs }) => ({ ...inputs, parsed: true }),
        resolve: async ({ connection }) => (connection ? { authType: 'Token Auth' as const, tokens: { t: 'x' } } : undefined),
        execute: async (input) => {
          seen = input;
          return { status: 200 };
        },
      },
      { connection: { id: 'c1', integration: 'http' } },
    );
    assert.equal(out.kind, 'succeeded');
    assert.deepEqual(out.output, { status: 200 });
    assert.equal(out.error, undefined);
    assert.ok(out.durationMs >= 0);
    assert.deepEqual(seen, {
      action: baseInput.action,
      inputs: { n: 1, parsed: true },
      credentials: { authType: 'Token Auth', tokens: { t: 'x' } },
      connection: { id: 'c1', integration: 'http' },
      timeoutMs: 5_000,
    });
  });

  it('a retryable ParError from the action ends in failedRetryable', async () => {
    const out = await run({ execute: () => Promise.reject(new ParError('PAR_ERR_HTTP_CONNECT', 'refused')) });
    assert.equal(out.kind, 'failedRetryable');
    assert.equal(out.error?.code, 'PAR_ERR_HTTP_CONNECT');
    assert.equal(out.error.retryable, true);
    assert.equal(out.output, undefined);
  });

  it('a non-retryable ParError ends in failedFatal with its code', async () => {
    const out = await run({ validate: () => Promise.reject(new ParError('PAR_ERR_INPUT_INVALID', 'url: required')) });
    assert.equal(out.kind, 'failedFatal');
    assert.equal(out.error?.code, 'PAR_ERR_INPUT_INVALID');
    assert.equal(out.error.retryable, false);
  });

  it('anything else thrown is fatal PAR_ERR_ACTION_FAILED', async () => {
    const out = await run({ execute: () => Promise.reject(new TypeError('boom')) });
    assert.equal(out.kind, 'failedFatal');
    assert.equal(out.error?.code, 'PAR_ERR_ACTION_FAILED');
    assert.match(out.error.message, /boom/);
  });

  it('credential failures are classified like any other', async () => {
    let executed = false;
    const out = await run({
      resolve: () => Promise.reject(new ParError('PAR_ERR_CREDENTIALS_UNAVAILABLE', 'creds.json')),
      execute: async () => {
        executed = true;
        return 1;
      },
    });
    assert.equal(out.kind, 'failedFatal');
    assert.equal(out.error?.code, 'PAR_ERR_CREDENTIALS_UNAVAILABLE');
    assert.equal(executed, false);
  });

  it('durationMs is measured with input.now, not a clock of its own', async () => {
    let t = 1_000;
    const out = await run(
      {
        execute: async () => {
          t += 250;
          return 'ok';
        },
      },
      { now: () => t },
    );
    assert.equal(out.durationMs, 250);
  });

  it('the deadline ends in timedOut and aborts the action signal (simulated clock)', async () => {
    const clock = new SimulatedClock();
    let signal: AbortSignal | undefined;
    const actor = createActor(
      machineWith({
        execute: (_, s) => {
          signal = s;
          return untilAborted(s);
        },
      }),
      {
        clock,
        input: { ...baseInput, timeoutMs: 30_000, now: () => clock.now() },
      },
    );
    actor.start();
    await waitFor(actor, (s) => s.matches('executing'));
    clock.increment(29_999);
    assert.equal(actor.getSnapshot().value, 'executing');
    clock.increment(1);
    const out = await toPromise(actor);
    assert.equal(out.kind, 'timedOut');
    assert.equal(out.error?.code, 'PAR_ERR_TASK_TIMEOUT');
    assert.equal(signal?.aborted, true);
    assert.equal(out.durationMs, 30_000);
  });

  it('the deadline covers executing only (simulated clock)', async () => {
    const clock = new SimulatedClock();
    let validated!: (v: unknown) => void;
    let executed!: (v: unknown) => void;
    const actor = createActor(
      machineWith({
        validate: (i) =>
          new Promise((r) => {
            validated = () => r(i.inputs);
          }),
        execute: () =>
          new Promise((r) => {
            executed = r;
          }),
      }),
      { clock, input: { ...baseInput, timeoutMs: 20, now: () => clock.now() } },
    );
    actor.start();
    await waitFor(actor, (s) => s.matches('validating'));
    clock.increment(1_000);
    assert.equal(actor.getSnapshot().value, 'validating');
    validated(undefined);
    await waitFor(actor, (s) => s.matches('executing'));
    clock.increment(19);
    executed('done');
    const out = await toPromise(actor);
    assert.equal(out.kind, 'succeeded');
    assert.equal(out.durationMs, 1_019);
  });

  it('task.cancel while executing ends in cancelled and aborts the action signal', async () => {
    let signal: AbortSignal | undefined;
    const actor = createActor(
      machineWith({
        execute: (_, s) => {
          signal = s;
          return untilAborted(s);
        },
      }),
      { input: baseInput },
    );
    actor.start();
    await waitFor(actor, (s) => s.matches('executing'));
    actor.send({ type: 'task.cancel', reason: 'operator' });
    const out = await toPromise(actor);
    assert.equal(out.kind, 'cancelled');
    assert.equal(out.error?.code, 'PAR_ERR_TASK_CANCELLED');
    assert.match(out.error.message, /operator/);
    assert.equal(signal?.aborted, true);
  });

  it('task.cancel while validating never runs the later steps', async () => {
    let executed = false;
    const actor = createActor(
      machineWith({
        validate: (_, s) => untilAborted(s),
        execute: async () => {
          executed = true;
          return 1;
        },
      }),
      { input: baseInput },
    );
    actor.start();
    actor.send({ type: 'task.cancel' });
    const out = await toPromise(actor);
    assert.equal(out.kind, 'cancelled');
    assert.equal(executed, false);
  });

  it('task.cancel after a final state changes nothing', async () => {
    const actor = createActor(machineWith({}), { input: baseInput });
    actor.start();
    const out = await toPromise(actor);
    actor.send({ type: 'task.cancel' });
    assert.equal(out.kind, 'succeeded');
    assert.equal(actor.getSnapshot().value, 'succeeded');
  });

  it('every state is reachable (xstate/graph)', () => {
    const actorEvent = (kind: 'done' | 'error', id: string, payload: Record<string, unknown>) =>
      ({ type: `xstate.${kind}.actor.${id}`, ...payload }) as unknown as { type: 'task.cancel' };
    const events = Object.values(TASK_LIFECYCLE_ACTOR_IDS).flatMap((id) => [
      actorEvent('done', id, { output: {} }),
      actorEvent('error', id, { error: new ParError('PAR_ERR_HTTP_CONNECT') }),
      actorEvent('error', id, { error: new ParError('PAR_ERR_INPUT_INVALID') }),
    ]);
    const paths = getShortestPaths(taskLifecycleMachine, {
      input: baseInput,
      events: [...events, { type: DEADLINE_EVENT } as unknown as { type: 'task.cancel' }, { type: 'task.cancel' }],
    });
    const reached = new Set(paths.map((p) => p.state.value));
    const all = Object.keys(taskLifecycleMachine.root.states);
    assert.deepEqual([...reached].sort(), [...all].sort());
    for (const final of TASK_LIFECYCLE_FINAL_STATES) assert.ok(reached.has(final), `${final} reachable`);
  });
});
