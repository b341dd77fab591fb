// The audit trail's settings are validated at start-up and a bad one is named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadRunnerConfig } from '../../src/config/runner.js';

test('audit settings: defaults, env names, and a bad value names its setting', () => {
  const defaults = loadRunnerConfig({});
  assert.deepEqual(
    [defaults.auditDir, defaults.auditCheckpointEvery, defaults.auditCheckpointIntervalMs, defaults.auditMaxFileBytes],
    [undefined, 100, 60_000, 16_777_216],
  );
  const set = loadRunnerConfig({
    PAR_AUDIT_DIR: '/var/lib/par/audit',
    PAR_AUDIT_CHECKPOINT_EVERY: '10',
    PAR_AUDIT_CHECKPOINT_INTERVAL_MS: '5000',
    PAR_AUDIT_MAX_FILE_BYTES: '65536',
  });
  assert.deepEqual(
    [set.auditDir, set.auditCheckpointEvery, set.auditCheckpointIntervalMs, set.auditMaxFileBytes],
    ['/var/lib/par/audit', 10, 5000, 65536],
  );
  for (const [name, value] of [
    ['PAR_AUDIT_CHECKPOINT_EVERY', '0'],
    ['PAR_AUDIT_CHECKPOINT_INTERVAL_MS', '10'],
    ['PAR_AUDIT_MAX_FILE_BYTES', '100'],
    ['PAR_AUDIT_CHECKPOINT_EVERY', 'often'],
  ] as const) {
    assert.throws(
      () => loadRunnerConfig({ [name]: value }),
      (e: Error) => e.message.includes(name),
      `${name}=${value}`,
    );
  }
});
