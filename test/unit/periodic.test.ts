/**
 * src/lib/periodic.ts with real timers: ticks never overlap, a failing tick is logged as `{ err }`
 * and the loop goes on, stop() waits for the running tick and no tick starts after it, kick()
 * and reschedule() run sooner. Waits on conditions, not on sleeps.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { periodic } from '../../src/lib/periodic.js';

function capturedLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('periodic loop', () => {
  test('runs at start and again after each tick; two ticks never overlap', async () => {
    const { logger } = capturedLogger();
    let active = 0;
    let maxActive = 0;
    let ticks = 0;
    const loop = periodic({
      name: 'test',
      logger,
      intervalMs: 1,
      tick: async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise((resolve) => setTimeout(resolve, 5));
        ticks++;
        active--;
      },
    });
    loop.start();
    await until(() => ticks >= 5, 'five ticks');
    await loop.stop();
    assert.equal(maxActive, 1);
  });

  test('a failing tick is logged as { err } and the loop goes on', async () => {
    const { logger, lines } = capturedLogger();
    let calls = 0;
    const loop = periodic({
      name: 'flaky job',
      logger,
      intervalMs: 1,
      tick: async () => {
        calls++;
        if (calls === 1) throw new Error('boom');
      },
    });
    loop.start();
    await until(() => calls >= 3, 'ticks after the failure');
    await loop.stop();
    const line = lines.find((l) => l['msg'] === 'flaky job failed; will retry');
    assert.ok(line, 'failure logged');
    assert.equal((line['err'] as { message?: string }).message, 'boom');
    assert.equal(line['level'], 40);
  });

  test('stop() waits for the running tick; nothing runs after it', async () => {
    const { logger } = capturedLogger();
    const gate = deferred();
    let started = 0;
    let finished = 0;
    const loop = periodic({
      name: 'slow',
      logger,
      intervalMs: 1,
      tick: async () => {
        started++;
        await gate.promise;
        finished++;
      },
    });
    loop.start();
    await until(() => started === 1 && loop.busy, 'the first tick');
    let stopResolved = false;
    const stopping = loop.stop().then(() => {
      stopResolved = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(stopResolved, false, 'stop() resolved while the tick was still running');
    gate.resolve();
    await stopping;
    assert.equal(finished, 1);
    const seen = started;
    loop.start();
    loop.kick();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(started, seen, 'a tick started after stop() (start and kick are no-ops once stopped)');
  });

  test('stopWaitMs bounds the wait for a tick that never ends', async () => {
    const { logger } = capturedLogger();
    let started = false;
    const loop = periodic({
      name: 'stuck',
      logger,
      intervalMs: 1,
      stopWaitMs: 20,
      tick: () => {
        started = true;
        return new Promise<void>(() => undefined);
      },
    });
    loop.start();
    await until(() => started, 'the tick');
    await loop.stop();
  });

  test('runAtStart false waits one interval; kick() runs at once; reschedule() uses a shorter interval', async () => {
    const { logger } = capturedLogger();
    let interval = 60_000;
    let ticks = 0;
    const loop = periodic({
      name: 'lazy',
      logger,
      intervalMs: () => interval,
      runAtStart: false,
      tick: async () => {
        ticks++;
      },
    });
    loop.kick();
    loop.start();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(ticks, 0, 'ticked before its first interval');
    loop.kick();
    await until(() => ticks === 1, 'the kicked tick');
    interval = 1;
    loop.reschedule();
    await until(() => ticks >= 3, 'ticks at the shorter interval');
    await loop.stop();
  });
});
