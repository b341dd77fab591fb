/**
 * The worker's redaction (workers/redaction.ts): which values, which forms, where in a value,
 * how they are counted, and the short-value rule.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { REDACTED, redactingLogger, TaskSecrets } from '../../workers/redaction.js';

const TOKEN = 'tok-3f9a/b+c=d&e f"g\\h';

function secretsFor(): TaskSecrets {
  const s = new TaskSecrets();
  s.addCredentials({ authType: 'Token Auth', tokens: { apiToken: TOKEN, host: '10.1.2.3', port: '5432', short: 'abc' } });
  return s;
}

describe('TaskSecrets', () => {
  it('redacts the raw value, its URL, form, JSON and base64 encodings, counting each', () => {
    const s = secretsFor();
    const forms = [
      TOKEN,
      encodeURIComponent(TOKEN),
      new URLSearchParams({ v: TOKEN }).toString().slice(2),
      JSON.stringify(TOKEN).slice(1, -1),
      Buffer.from(TOKEN).toString('base64'),
      Buffer.from(TOKEN).toString('base64url'),
    ];
    for (const form of forms) {
      const before = s.redactions;
      assert.equal(s.string(`x${form}y`), `x${REDACTED}y`, form);
      assert.equal(s.redactions, before + 1, form);
    }
  });

  it('Basic Auth: the password and base64(user:pass) are redacted, the username alone is not', () => {
    const s = new TaskSecrets();
    s.addCredentials({ authType: 'Basic Auth', username: 'ops-user', password: 'p@ss word!' });
    const header = `Basic ${Buffer.from('ops-user:p@ss word!').toString('base64')}`;
    assert.equal(s.string(header), `Basic ${REDACTED}`);
    assert.equal(s.string('user ops-user, pass p@ss word!'), `user ops-user, pass ${REDACTED}`);
    assert.equal(s.string('p%40ss%20word!'), REDACTED);
  });

  it('walks values deeply, keys included; leaves numbers and booleans', () => {
    const s = secretsFor();
    const out = s.value({ a: [{ b: `say ${TOKEN}` }], [TOKEN]: 1, n: 5, t: true, nil: null });
    assert.deepEqual(out, { a: [{ b: `say ${REDACTED}` }], [REDACTED]: 1, n: 5, t: true, nil: null });
    assert.equal(s.redactions, 2);
  });

  it('does not redact address tokens (host, port, user, database) or values shorter than 4 characters', () => {
    const s = secretsFor();
    assert.equal(s.string('10.1.2.3:5432 abc'), '10.1.2.3:5432 abc');
    assert.equal(s.redactions, 0);
  });

  it('replaces a subtree nested deeper than the walk goes, and counts it', () => {
    const s = secretsFor();
    let deep: unknown = TOKEN;
    for (let i = 0; i < 300; i++) deep = [deep];
    assert.doesNotMatch(JSON.stringify(s.value(deep)), /tok-3f9a/);
    assert.equal(s.redactions, 1);
  });

  it('without secrets a value is returned as is', () => {
    const s = new TaskSecrets();
    const v = { a: 'anything' };
    assert.equal(s.value(v), v);
    assert.equal(s.redactions, 0);
  });

  it('the task logger redacts messages and merged objects, without counting them in the outcome', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const s = secretsFor();
    const log = redactingLogger(pino({ level: 'debug' }, sink), s);
    log.info({ got: TOKEN, nested: { [TOKEN]: 1 } }, `message ${TOKEN}`);
    log.warn(`plain ${encodeURIComponent(TOKEN)}`);
    const text = lines.join('');
    assert.ok(!text.includes('tok-3f9a'), text);
    assert.match(text, /\[redacted\]/);
    assert.equal(s.redactions, 0);
  });
});
