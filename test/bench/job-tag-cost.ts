/**
 * What the worker's admission check costs per task (issue 12), in CPU µs (process.cpuUsage), in
 * one process, interleaved rounds after a warm-up: the Ed25519 JWS re-verification workers did before (TaskVerifier, jose,
 * expiry not checked, + claimsToTask) against the HMAC tag check they do now (QueueKeyRing.verify:
 * HMAC-SHA256 over the payload text + timingSafeEqual + JSON.parse of the payload), and what
 * tagging (JSON.stringify + HMAC) adds to the runner's intake. Two task sizes: a typical http.request, and one with ~4 KB of inputs. Also prints
 * the `tasks` job's JSON size before/after. `npm run bench:job-tag` (rounds x N from argv).
 */
import { claimsToTask, type TaskClaims } from '../../src/contracts/task.js';
import type { RunnerIdentity } from '../../src/contracts/runner-identity.js';
import { generateSigningKeyPair, importSigningKey, publicPart } from '../../src/crypto/keys.js';
import { TaskSigner, TaskVerifier } from '../../src/crypto/task-signature.js';
import { deriveQueueKey, taggedTaskJob } from '../../src/crypto/task-job-tag.js';
import { createRootLogger } from '../../src/logging/logger.js';
import { QueueKeyRing } from '../../workers/identity-reload.js';

const rounds = Number(process.argv[2] ?? 5);
const perRound = Number(process.argv[3] ?? 5_000);
const RUNNER = 'rnr_bench';

/** CPU µs (user + system, this process) per call: less disturbed than wall time on a shared machine. */
async function timeUs(n: number, fn: () => unknown): Promise<number> {
  const started = process.cpuUsage();
  for (let i = 0; i < n; i++) await fn();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / n;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

async function main(): Promise<void> {
  const cp = await generateSigningKeyPair();
  const own = await generateSigningKeyPair();
  const signer = new TaskSigner(await importSigningKey(cp.privateJwk), cp.kid);
  const verifier = new TaskVerifier({ keys: [publicPart(cp.publicJwk) as RunnerIdentity['publicKey']] });
  const identity = { runnerId: RUNNER, privateKey: own.privateJwk } as unknown as RunnerIdentity;
  const ring = new QueueKeyRing(identity, '/nonexistent', undefined, createRootLogger({ process: 'bench', level: 'silent' }));
  const key = deriveQueueKey(identity);

  const sizes = {
    typical: {
      url: 'https://api.example.test/v1/items?limit=10',
      method: 'GET',
      headers: [{ key: 'accept', value: ['application/json'] }],
    },
    '4 KB inputs': {
      url: 'https://api.example.test/v1/items',
      method: 'POST',
      body: { items: Array.from({ length: 60 }, (_, i) => ({ id: i, name: `item-${i}-xxxxxxxxxxxxxxxx`, ok: i % 2 === 0 })) },
    },
  };
  console.log(`node ${process.version}; ${rounds} rounds x ${perRound} per case, interleaved; median of the rounds, CPU µs per task`);
  for (const [label, inputs] of Object.entries(sizes)) {
    const taskId = `tsk_bench_${label.length}`;
    const jws = await signer.sign(
      {
        sub: taskId,
        aud: RUNNER,
        org: 'org-1',
        action: 'com.datadoghq.http.request',
        inputs,
        timeoutMs: 30_000,
        connection: { id: 'c1', integration: 'http' },
      },
      60_000,
    );
    const claims: TaskClaims = await verifier.verify(jws, { runnerId: RUNNER, taskId, checkExpiry: false });
    const fields = {
      taskId,
      task: claimsToTask(claims),
      deliveryAttempt: 1,
      acceptedAt: Date.now(),
      traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`,
    };
    // What a worker gets: the job data after BullMQ's JSON round trip.
    const oldJob = { taskId, signedTask: jws, deliveryAttempt: 1, acceptedAt: fields.acceptedAt, traceparent: fields.traceparent };
    const newJob: unknown = JSON.parse(JSON.stringify(taggedTaskJob(key, fields)));
    const jwsVerify = async () => claimsToTask(await verifier.verify(oldJob.signedTask, { runnerId: RUNNER, taskId, checkExpiry: false }));
    const tagCheck = () => ring.verify(newJob);
    const tagging = () => taggedTaskJob(key, fields);
    const old: number[] = [];
    const now: number[] = [];
    const tag: number[] = [];
    await timeUs(500, jwsVerify);
    await timeUs(500, tagCheck);
    await timeUs(500, tagging);
    for (let r = 0; r < rounds; r++) {
      old.push(await timeUs(perRound, jwsVerify));
      now.push(await timeUs(perRound, tagCheck));
      tag.push(await timeUs(perRound, tagging));
    }
    const o = median(old);
    const n = median(now);
    console.log(
      `${label}: worker JWS re-verify ${o.toFixed(1)} µs -> tag check ${n.toFixed(1)} µs (${(o / n).toFixed(0)}x less); ` +
        `runner tagging +${median(tag).toFixed(1)} µs; job data ${JSON.stringify(oldJob).length} -> ${JSON.stringify(newJob).length} bytes`,
    );
  }
}

await main();
