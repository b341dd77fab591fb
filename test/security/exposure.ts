/**
 * Shared assertions of the hostile corpus (test/security/): after an attack, no secret may sit in
 * any Redis key the system wrote, in any process's output (its log), or in a task result; and every
 * process must still be healthy. Each family's test file calls these after its cases.
 */
import assert from 'node:assert/strict';
import { request } from 'undici';
import type { Redis } from 'ioredis';
import { connectRedis } from '../helpers/redis.js';
import type { System } from '../helpers/system.js';

/** Every form in which a secret could leak: raw, Basic `user:pass` base64, URL-encoded, base64 alone. */
export function secretForms(secret: string, basicUser?: string): string[] {
  const forms = new Set<string>([secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')]);
  if (basicUser !== undefined) forms.add(Buffer.from(`${basicUser}:${secret}`).toString('base64'));
  return [...forms].filter((f) => f.length >= 6);
}

/** The Redis key prefix shared by the control plane's and the queues' keys of a system. */
export function systemBase(system: System): string {
  return system.cpPrefix.replace(/:cp$/, '');
}

async function dumpKey(redis: Redis, key: string): Promise<string> {
  const type = await redis.type(key);
  switch (type) {
    case 'string':
      return (await redis.getBuffer(key))?.toString('latin1') ?? '';
    case 'hash':
      return Object.entries(await redis.hgetall(key))
        .flat()
        .join('\n');
    case 'list':
      return (await redis.lrange(key, 0, -1)).join('\n');
    case 'set':
      return (await redis.smembers(key)).join('\n');
    case 'zset':
      return (await redis.zrange(key, 0, -1)).join('\n');
    case 'stream':
      return JSON.stringify(await redis.xrange(key, '-', '+'));
    default:
      return '';
  }
}

/** Scans every key under `prefix` (all types) and fails naming the key that holds a secret form. */
export async function assertNoSecretInRedis(prefix: string, secrets: readonly string[]): Promise<number> {
  const redis = connectRedis();
  let scanned = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        scanned++;
        const text = `${key}\n${await dumpKey(redis, key)}`;
        for (const s of secrets) assert.ok(!text.includes(s), `Redis key ${key} holds a secret (${s.slice(0, 3)}…)`);
      }
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return scanned;
}

/** Fails if any process output (the processes log JSON to stdout/stderr) holds a secret form. */
export function assertNoSecretInLogs(system: System, secrets: readonly string[]): void {
  for (const p of [system.cp, system.runner, ...system.workers]) {
    const out = p.output();
    for (const s of secrets) assert.ok(!out.includes(s), `${p.name}'s log holds a secret (${s.slice(0, 3)}…)`);
  }
}

/** Fails if a value (a task view, result or error) serialises to text holding a secret form. */
export function assertNoSecretIn(value: unknown, secrets: readonly string[], where: string): void {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  for (const s of secrets) assert.ok(!text.includes(s), `${where} holds a secret (${s.slice(0, 3)}…)`);
}

/** Every process of the system is running and answers its health endpoint. */
export async function assertSystemHealthy(system: System): Promise<void> {
  for (const p of [system.cp, system.runner, ...system.workers]) {
    assert.equal(p.proc.exitCode, null, `${p.name} exited (${String(p.proc.exitCode)}):\n${p.output().slice(-2000)}`);
    assert.equal(p.proc.signalCode, null, `${p.name} was killed by ${String(p.proc.signalCode)}`);
  }
  for (const url of [`${system.cpUrl}/healthz`, `${system.runnerAdminUrl}/readyz`]) {
    const res = await request(url, { headersTimeout: 5000, bodyTimeout: 5000 });
    await res.body.dump();
    assert.equal(res.statusCode, 200, `${url} answered ${res.statusCode}`);
  }
}

/** All of the above at once: the closing check of a family's corpus. */
export async function assertNothingLeaked(system: System, secrets: readonly string[]): Promise<void> {
  assertNoSecretInLogs(system, secrets);
  await assertNoSecretInRedis(systemBase(system), secrets);
  await assertSystemHealthy(system);
}
