/**
 * The idle-RSS floor of each kind of process: a bare `node` that imports only the npm packages the
 * design card gives that process (no project code, no connection, nothing run) and reads its own
 * VmRSS once settled. The idle RSS of the real process is read next to it: what lies above the
 * floor is ours to cut; the floor itself is not (Node.js's own mapped binary and heap, and the
 * modules every such process must load).
 */
import { runFreshScript } from '../helpers/fresh-process.js';

/** The packages each kind of process cannot do without (the design card's stack), by process name prefix. */
export const FLOOR_PACKAGES: Record<string, readonly string[]> = {
  'control-plane': ['fastify', 'ioredis', 'pino'],
  runner: ['bullmq', 'xstate', 'pino', 'undici'],
  worker: ['bullmq', 'xstate', 'pino', 'undici'],
};

const SETTLE_MS = 1_000;

/** VmRSS in MB of a plain node process that imported `packages` (none: bare node) and sat idle SETTLE_MS. */
export async function rssFloorMb(packages: readonly string[]): Promise<number> {
  const script = [
    ...packages.map((p) => `await import(${JSON.stringify(p)});`),
    `await new Promise((r) => setTimeout(r, ${SETTLE_MS}));`,
    `const status = (await import('node:fs')).readFileSync('/proc/self/status', 'utf8');`,
    `console.log(JSON.stringify({ rssKb: Number(/^VmRSS:\\s+(\\d+)/m.exec(status)?.[1]) }));`,
  ].join('\n');
  const { rssKb } = await runFreshScript(script, { tsx: false });
  if (typeof rssKb !== 'number' || !(rssKb > 0)) throw new Error(`RSS floor of [${packages.join(', ')}]: no VmRSS read (${String(rssKb)})`);
  return rssKb / 1024;
}

/** The floor packages of a process named `control-plane`, `runner`, `worker-1`, ... */
export function floorPackagesOf(processName: string): readonly string[] | undefined {
  const kind = Object.keys(FLOOR_PACKAGES).find((k) => processName === k || processName.startsWith(`${k}-`));
  return kind === undefined ? undefined : FLOOR_PACKAGES[kind];
}
