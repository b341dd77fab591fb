/**
 * What verifying one signed task costs the runner's intake (issue 12), in CPU µs
 * (process.cpuUsage) and wall µs, in one process, interleaved rounds after a warm-up: jose's
 * jwtVerify with the options TaskVerifier used (plus the claims schema), against TaskVerifier now
 * (node:crypto, src/crypto/ed25519-jwt.ts). `npm run bench:jwt-verify` (rounds x N from argv).
 */
import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import { TASK_ISSUER, TASK_TYP } from '../../src/contracts/runner-api.js';
import { taskClaimsSchema } from '../../src/contracts/task.js';
import { generateSigningKeyPair, importSigningKey, publicPart } from '../../src/crypto/keys.js';
import { TaskSigner, TaskVerifier } from '../../src/crypto/task-signature.js';

const rounds = Number(process.argv[2] ?? 7);
const perRound = Number(process.argv[3] ?? 3_000);
const RUNNER = 'rnr_bench';

async function timeUs(n: number, fn: () => Promise<unknown>): Promise<{ cpu: number; wall: number }> {
  const started = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn();
  const used = process.cpuUsage(started);
  return { cpu: (used.user + used.system) / n, wall: ((performance.now() - t0) * 1000) / n };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

async function main(): Promise<void> {
  const cp = await generateSigningKeyPair();
  const publicJwk = { ...publicPart(cp.publicJwk), kty: 'OKP' } as JWK;
  const signer = new TaskSigner(await importSigningKey(cp.privateJwk), cp.kid);
  const verifier = new TaskVerifier({ keys: [publicJwk] as never });
  const keySet = createLocalJWKSet({ keys: [publicJwk] });
  const jws = await signer.sign(
    {
      sub: 'tsk_bench',
      aud: RUNNER,
      org: 'org-1',
      action: 'com.datadoghq.http.request',
      inputs: { verb: 'GET', url: 'https://api.example.test/v1/items?limit=10', headers: { accept: 'application/json' } },
      timeoutMs: 30_000,
    },
    60_000,
  );
  const viaJose = async () =>
    taskClaimsSchema.parse(
      (await jwtVerify(jws, keySet, { issuer: TASK_ISSUER, audience: RUNNER, typ: TASK_TYP, algorithms: ['EdDSA'] })).payload,
    );
  const viaNodeCrypto = () => verifier.verify(jws, { runnerId: RUNNER, checkExpiry: true });
  await timeUs(500, viaJose);
  await timeUs(500, viaNodeCrypto);
  const jose: { cpu: number; wall: number }[] = [];
  const ours: { cpu: number; wall: number }[] = [];
  for (let r = 0; r < rounds; r++) {
    jose.push(await timeUs(perRound, viaJose));
    ours.push(await timeUs(perRound, viaNodeCrypto));
  }
  const row = (what: string, xs: { cpu: number; wall: number }[]) =>
    console.log(
      `  ${what.padEnd(44)} ${median(xs.map((x) => x.cpu))
        .toFixed(1)
        .padStart(7)} µs CPU ${median(xs.map((x) => x.wall))
        .toFixed(1)
        .padStart(7)} µs wall`,
    );
  console.log(`node ${process.version}; ${rounds} rounds x ${perRound}, interleaved; median of the rounds, per verified task`);
  row('jose jwtVerify + claims schema (before)', jose);
  row('TaskVerifier, node:crypto (now)', ours);
  const ratio = median(jose.map((x) => x.cpu)) / median(ours.map((x) => x.cpu));
  console.log(`  jose / node:crypto CPU: x${ratio.toFixed(2)}`);
}

await main();
