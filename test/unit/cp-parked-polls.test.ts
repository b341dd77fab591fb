/**
 * ParkedPolls (control-plane/parked-polls.ts): a request arriving on a connection ends the wait
 * of the poll parked there, also when it arrives before the poll has parked (the poll still being
 * authenticated), and never touches polls on other connections.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParkedPolls } from '../../src/control-plane/parked-polls.js';

test('a call behind a parked poll ends its wait; another connection is left alone', () => {
  const polls = new ParkedPolls();
  const a = {};
  const b = {};
  const pollA = {};
  const pollB = {};
  const yielded = new Set<string>();
  polls.arrived(a, pollA);
  polls.arrived(b, pollB);
  const parkedA = polls.park(a, pollA, () => yielded.add('a'));
  const parkedB = polls.park(b, pollB, () => yielded.add('b'));
  assert.deepEqual([...yielded], []);
  assert.equal(polls.arrived(a, {}), true, 'the heartbeat ended the parked poll');
  assert.deepEqual([...yielded], ['a']);
  parkedA.dispose();
  // The next poll on `a` parks normally: the heartbeat came before it.
  const next = {};
  polls.arrived(a, next);
  const parkedNext = polls.park(a, next, () => yielded.add('next'));
  assert.equal(parkedNext.yielded, false);
  assert.deepEqual([...yielded], ['a']);
  parkedNext.dispose();
  parkedB.dispose();
});

test('a call that arrives before the poll parks makes the poll not wait at all', () => {
  const polls = new ParkedPolls();
  const conn = {};
  const poll = {};
  polls.arrived(conn, poll);
  assert.equal(polls.arrived(conn, {}), false, 'nothing parked yet');
  let yielded = false;
  const parked = polls.park(conn, poll, () => {
    yielded = true;
  });
  assert.equal(parked.yielded, true);
  assert.equal(yielded, true);
});
