/**
 * The done message's codec (src/control-plane/task-done-message.ts): what the Lua scripts publish
 * parses to the task's final fields; a bare id, or anything malformed, parses to nothing (the
 * waiter then reads the task), and the id is found either way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTaskDone, taskDoneId } from '../../src/control-plane/task-done-message.js';

const outcome = { kind: 'succeeded', output: { text: 'a b  c', n: 1 }, attempts: 1, durationMs: 4 };

test('a v1 message parses to the final fields, spaces inside the outcome included', () => {
  const message = `v1 task-1 succeeded 2 1700000000123 ${JSON.stringify(outcome)}`;
  assert.equal(taskDoneId(message), 'task-1');
  assert.deepEqual(parseTaskDone(message), { state: 'succeeded', attempts: 2, finishedAt: 1700000000123, outcome });
  const cancelled = {
    kind: 'cancelled',
    error: { code: 'PAR_ERR_TASK_CANCELLED', message: 'by me', retryable: false },
    attempts: 0,
    durationMs: 9,
  };
  assert.deepEqual(parseTaskDone(`v1 t cancelled 0 5 ${JSON.stringify(cancelled)}`), {
    state: 'cancelled',
    attempts: 0,
    finishedAt: 5,
    outcome: cancelled,
  });
});

test('a bare id names the task and carries nothing', () => {
  assert.equal(taskDoneId('0b7c2a6e-1f0e-4c1e-9d55-4a7f1f5a9e10'), '0b7c2a6e-1f0e-4c1e-9d55-4a7f1f5a9e10');
  assert.equal(parseTaskDone('0b7c2a6e-1f0e-4c1e-9d55-4a7f1f5a9e10'), undefined);
});

test('anything malformed carries nothing, and still names its task when it can', () => {
  const json = JSON.stringify(outcome);
  const malformed = [
    'v1 t',
    'v1 t succeeded',
    'v1 t succeeded 1 2',
    `v1 t queued 1 2 ${json}`,
    `v1 t leased 1 2 ${json}`,
    `v1 t succeeded -1 2 ${json}`,
    `v1 t succeeded 1.5 2 ${json}`,
    `v1 t succeeded x 2 ${json}`,
    `v1 t succeeded 1 soon ${json}`,
    `v1 t succeeded  1 2 ${json}`,
    'v1 t succeeded 1 2 {not json',
    'v1 t succeeded 1 2 {"kind":"exploded","attempts":1,"durationMs":1}',
    'v1 t succeeded 1 2 null',
    `v2 t succeeded 1 2 ${json}`,
  ];
  for (const m of malformed) assert.equal(parseTaskDone(m), undefined, m);
  for (const m of malformed.slice(0, -1)) assert.equal(taskDoneId(m), 't', m);
});
