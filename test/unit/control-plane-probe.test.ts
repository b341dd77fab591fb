/** The control-plane probe wakes the runner on a down -> up transition only, one probe loop at a time. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRootLogger } from '../../src/logging/logger.js';
import { ControlPlaneProbe } from '../../src/runner/control-plane-probe.js';
import { waitUntil } from '../helpers/wait.js';

const logger = createRootLogger({ process: 'test', level: 'silent' });
const INTERVAL_MS = 20;
/** Long enough for several more probes had the loop kept going. */
const QUIET_MS = INTERVAL_MS * 5;

test('probes while the control plane is down and wakes the runner once when it answers again', async () => {
  const answers = [false, false, false, true];
  let probes = 0;
  let woken = 0;
  const probe = new ControlPlaneProbe({
    intervalMs: INTERVAL_MS,
    logger,
    onBack: () => {
      woken += 1;
    },
    probe: async () => answers[probes++] ?? true,
  });
  probe.unreachable();
  probe.unreachable(); // a second failure while probing starts no second loop
  await waitUntil(() => (woken > 0 ? true : undefined), 2000, 'the wake-up');
  assert.equal(probes, 4);
  assert.equal(woken, 1);
  probe.stop();
});

test('a control plane that answers /healthz at once (5xx on calls, not down) wakes nobody', async () => {
  let woken = 0;
  let probes = 0;
  const probe = new ControlPlaneProbe({
    intervalMs: INTERVAL_MS,
    logger,
    onBack: () => {
      woken += 1;
    },
    probe: async () => {
      probes += 1;
      return true;
    },
  });
  probe.unreachable();
  await waitUntil(() => (probes > 0 ? true : undefined), 2000, 'one probe');
  await new Promise((r) => setTimeout(r, QUIET_MS)); // would have probed again by now if it kept going
  assert.equal(probes, 1);
  assert.equal(woken, 0);
  probe.stop();
});

test('stop() ends a probe loop and later failures start none', async () => {
  let probes = 0;
  const probe = new ControlPlaneProbe({
    intervalMs: INTERVAL_MS,
    logger,
    onBack: () => undefined,
    probe: async () => {
      probes += 1;
      return false;
    },
  });
  probe.unreachable();
  await waitUntil(() => (probes >= 2 ? true : undefined), 2000, 'probing');
  probe.stop();
  const seen = probes;
  probe.unreachable();
  await new Promise((r) => setTimeout(r, QUIET_MS));
  assert.ok(probes <= seen + 1, 'no probing after stop');
});
