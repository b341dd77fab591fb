/**
 * The idle-RSS floor of each kind of process: a bare `node` that imports only the npm packages the
 * design card gives that process (no project code, no connection, nothing run) and reads its own
 * VmRSS once settled. The idle RSS of the real process is read next to it: what lies above the
 * floor is ours to cut; the floor itself is not (Node.js's own mapped binary and heap, and the
 * modules every such process must load).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The packages each kind of process cannot do without (the design card's stack), by process name prefix. */
export const FLOOR_PACKAGES: Record<string, readonly string[]> = {
  'control-plane': ['fastify', 'ioredis', 'pino'],
  runner: ['bullmq', 'xstate', 'pino', 'undici'],
  worker: ['bullmq', 'xstate', 'pino', 'undici'],
};

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SETTLE_MS = 1_000;
const TIMEOUT_MS = 20_000;

/** VmRSS in MB of a node process that imported `packages` (none: bare node) and sat idle SETTLE_MS. */
export function rssFloorMb(packages: readonly string[]): Promise<number> {
  const script = [
    ...packages.map((p) => `await import(${JSON.stringify(p)});`),
    `await new Promise((r) => setTimeout(r, ${SETTLE_MS}));`,
    `const s = (await import('node:fs')).readFileSync('/proc/self/status', 'utf8');`,
    `process.stdout.write(/^VmRSS:\\s+(\\d+)/m.exec(s)[1]);`,
  ].join('\n');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      const kb = Number(out);
      if (code === 0 && Number.isFinite(kb) && kb > 0) resolve(kb / 1024);
      else reject(new Error(`RSS floor of [${packages.join(', ')}]: exit ${code}, output: ${out.slice(0, 500)}`));
    });
  });
}

/** The floor packages of a process named `control-plane`, `runner`, `worker-1`, ... */
export function floorPackagesOf(processName: string): readonly string[] | undefined {
  const kind = Object.keys(FLOOR_PACKAGES).find((k) => processName === k || processName.startsWith(`${k}-`));
  return kind === undefined ? undefined : FLOOR_PACKAGES[kind];
}
