/**
 * The lifecycle machine is provided once per worker (LifecycleRuns): each run's own logger (and
 * so its redaction and trace) must reach its own action, also when many runs interleave, and an
 * actor started without its run bound fails fatally instead of borrowing another run's deps.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createActor, toPromise } from 'xstate';
import { z } from 'zod';
import { taskLifecycleMachine } from '../../machines/task-lifecycle/task-lifecycle.machine.js';
import type { ActionRegistry } from '../../src/actions/registry.js';
import type { RegisteredAction } from '../../src/actions/action.js';
import { createRootLogger } from '../../src/logging/logger.js';
import { LifecycleRuns } from '../../workers/lifecycle-actors.js';

const FQN = 'com.test.whoami';
const whoami: RegisteredAction = {
  fqn: FQN,
  inputSchema: z.object({ delayMs: z.number() }),
  async run(inputs, ctx) {
    await sleep((inputs as { delayMs: number }).delayMs, undefined, { signal: ctx.signal });
    // The run's identity as its logger carries it.
    return (ctx.logger.bindings() as { run?: number }).run;
  },
};
const registry: ActionRegistry = { get: (fqn) => (fqn === FQN ? whoami : undefined), fqns: [FQN], close: () => Promise.resolve() };
const root = createRootLogger({ process: 'test', level: 'silent' });

describe('lifecycle provided once per worker', () => {
  const runs = new LifecycleRuns({ registry, configDir: '.', limits: { httpMaxResponseBytes: 1024 } });
  const machine = taskLifecycleMachine.provide({ actors: runs.actors });

  test('interleaved runs each reach their own action with their own logger', async () => {
    const outputs = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const actor = createActor(machine, {
          input: { taskId: `t${i}`, action: FQN, inputs: { delayMs: (i * 7) % 13 }, timeoutMs: 10_000, now: Date.now },
        });
        runs.bind(actor.system, { logger: root.child({ run: i }) });
        actor.start();
        const out = await toPromise(actor);
        actor.stop();
        return out;
      }),
    );
    outputs.forEach((out, i) => {
      assert.equal(out.kind, 'succeeded', JSON.stringify(out));
      assert.equal(out.output, i);
    });
  });

  test('an actor started without its run bound fails fatally', async () => {
    const actor = createActor(machine, {
      input: { taskId: 'unbound', action: FQN, inputs: { delayMs: 0 }, timeoutMs: 10_000, now: Date.now },
    });
    actor.start();
    const out = await toPromise(actor);
    assert.equal(out.kind, 'failedFatal');
    assert.equal(out.error?.code, 'PAR_ERR_INTERNAL');
  });
});
