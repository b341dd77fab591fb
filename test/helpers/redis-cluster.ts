/**
 * A real Redis Cluster for tests: six `redis-server --cluster-enabled yes` processes on free
 * loopback ports (3 masters, 3 replicas), joined by `redis-cli --cluster create`, ready when
 * every node reports `cluster_state:ok`. `failoverSlot(slot)` runs `CLUSTER FAILOVER` on the
 * replica of the master holding that slot and waits until the roles have swapped. `stop()` kills
 * every server and removes the temp dir (call it in `after`, also when start-up failed half-way:
 * `startRedisCluster` cleans up after itself when it throws).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { tempDir } from './tmp.js';
import { waitUntil } from './wait.js';

/** On PATH, like redis-cli (test/check-prerequisites.mjs names both). */
const REDIS_SERVER = 'redis-server';

export interface RedisClusterNode {
  port: number;
  proc: ChildProcess;
}

export interface TestRedisCluster {
  /** `redis+cluster://127.0.0.1:<first port>`: the URL our processes take. */
  url: string;
  nodes: RedisClusterNode[];
  /** A plain connection to one node (the caller disconnects it). */
  node(port: number): Redis;
  /** Port of the master serving this slot now. */
  masterOf(slot: number): Promise<number>;
  /** `CLUSTER FAILOVER` on the replica of the master of this slot; resolves once it is master. Returns [old master, new master]. */
  failoverSlot(slot: number, timeoutMs?: number): Promise<[number, number]>;
  stop(): Promise<void>;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A node port whose cluster bus port (port + 10000) is free too, both below Linux's ephemeral
 * range (32768+), so no outgoing connection can take either before the node binds them.
 */
async function clusterPort(taken: ReadonlySet<number>): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * 10_000);
    if (taken.has(port) || taken.has(port + 10_000) || taken.has(port - 10_000)) continue;
    if ((await canListen(port)) && (await canListen(port + 10_000))) return port;
  }
  throw new Error('no free pair of loopback ports (node + cluster bus) for a Redis Cluster node');
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}:\n${out}`));
    });
  });
}

async function withNode<T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

interface NodeLine {
  id: string;
  port: number;
  master: boolean;
  masterId: string;
  slots: [number, number][];
  failed: boolean;
}

function parseNodes(text: string): NodeLine[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const f = line.split(' ');
      const flags = (f[2] ?? '').split(',');
      const slots = f
        .slice(8)
        .filter((s) => /^\d/.test(s))
        .map((s): [number, number] => {
          const [a, b] = s.split('-').map(Number) as [number, number | undefined];
          return [a, b ?? a];
        });
      return {
        id: f[0] ?? '',
        port: Number((f[1] ?? '').split('@')[0]?.split(':')[1]),
        master: flags.includes('master'),
        masterId: f[3] ?? '-',
        slots,
        failed: flags.some((x) => x.startsWith('fail')),
      };
    });
}

export async function startRedisCluster(): Promise<TestRedisCluster> {
  const dir = await tempDir('redis-cluster');
  const nodes: RedisClusterNode[] = [];
  const outputs = new Map<number, () => string>();
  const stop = async (): Promise<void> => {
    await Promise.all(
      nodes.map(
        (n) =>
          new Promise<void>((resolve) => {
            if (n.proc.exitCode !== null || n.proc.signalCode !== null) {
              resolve();
              return;
            }
            n.proc.once('exit', () => resolve());
            n.proc.kill('SIGKILL');
          }),
      ),
    );
    await dir.remove();
  };
  try {
    const taken = new Set<number>();
    for (let i = 0; i < 6; i++) {
      const port = await clusterPort(taken);
      taken.add(port);
      const proc = spawn(
        REDIS_SERVER,
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `${dir.path}/nodes-${port}.conf`,
          '--cluster-node-timeout',
          '2000',
          '--dir',
          dir.path,
          // Each node its own RDB file: a replica saves the snapshot it syncs from its master to
          // <dir>/<dbfilename> and loads it from there; with one shared name, three replicas
          // syncing at once could load each other's snapshot and miss their master's early keys.
          '--dbfilename',
          `dump-${port}.rdb`,
          '--save',
          '',
          '--appendonly',
          'no',
          '--protected-mode',
          'no',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let output = '';
      const keep = (chunk: Buffer): void => {
        output = (output + chunk.toString('utf8')).slice(-2000);
      };
      proc.stdout.on('data', keep);
      proc.stderr.on('data', keep);
      outputs.set(port, () => output);
      nodes.push({ port, proc });
    }
    for (const n of nodes)
      await waitUntil(
        () =>
          withNode(n.port, async (r) => {
            await r.ping();
            return true;
          }).catch(() => undefined),
        10_000,
        `redis-server on ${n.port}`,
      ).catch((error: unknown) => {
        const state = n.proc.exitCode === null ? 'still running' : `exited with ${n.proc.exitCode}`;
        throw new Error(`${(error as Error).message} (${state}; its output: ${outputs.get(n.port)?.() ?? ''})`);
      });
    await run(
      'redis-cli',
      ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'],
      60_000,
    );
    const stateOk = async (port: number): Promise<boolean> =>
      withNode(port, async (r) => String(await r.call('CLUSTER', 'INFO')).includes('cluster_state:ok'));
    await waitUntil(
      async () => {
        for (const n of nodes) if (!(await stateOk(n.port).catch(() => false))) return undefined;
        // Every replica attached to its master (the failover test needs them in sync).
        const lines = parseNodes(await withNode(nodes[0]!.port, async (r) => String(await r.call('CLUSTER', 'NODES'))));
        return (
          (lines.filter((l) => l.master).length === 3 && lines.filter((l) => !l.master && l.masterId !== '-').length === 3) || undefined
        );
      },
      30_000,
      'cluster_state:ok on every node',
    );
  } catch (error) {
    await stop();
    throw error;
  }

  const first = nodes[0]!.port;
  const clusterNodes = async (): Promise<NodeLine[]> => {
    for (const n of nodes) {
      try {
        return parseNodes(await withNode(n.port, async (r) => String(await r.call('CLUSTER', 'NODES'))));
      } catch {
        // that node is down: ask the next
      }
    }
    throw new Error('no cluster node answers');
  };
  const masterOf = async (slot: number): Promise<number> => {
    const m = (await clusterNodes()).find((l) => l.master && !l.failed && l.slots.some(([a, b]) => slot >= a && slot <= b));
    if (!m) throw new Error(`no master serves slot ${slot}`);
    return m.port;
  };
  return {
    url: `redis+cluster://127.0.0.1:${first}`,
    nodes,
    node: (port) => new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 }),
    masterOf,
    async failoverSlot(slot, timeoutMs = 30_000) {
      const lines = await clusterNodes();
      const master = lines.find((l) => l.master && l.slots.some(([a, b]) => slot >= a && slot <= b));
      const replica = master && lines.find((l) => !l.master && l.masterId === master.id);
      if (!master || !replica) throw new Error(`no master/replica pair for slot ${slot}`);
      // A manual failover needs the replica linked to its master (it waits for the master's offset).
      await waitUntil(
        () =>
          withNode(replica.port, async (r) => (await r.info('replication')).includes('master_link_status:up') || undefined).catch(
            () => undefined,
          ),
        timeoutMs,
        `replica ${replica.port} in sync`,
        100,
      );
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        await withNode(replica.port, (r) => r.call('CLUSTER', 'FAILOVER'));
        const took = await waitUntil(
          async () => ((await masterOf(slot).catch(() => 0)) === replica.port ? true : undefined),
          8_000,
          'takeover',
          100,
        ).catch(() => false);
        if (took) break;
        if (Date.now() > deadline) throw new Error(`replica ${replica.port} did not take over slot ${slot} within ${timeoutMs} ms`);
      }
      return [master.port, replica.port];
    },
    stop,
  };
}

/** The hash slot of a key (CRC16 of its hash tag, as Redis Cluster computes it). */
export async function slotOf(cluster: TestRedisCluster, key: string): Promise<number> {
  return withNode(cluster.nodes[0]!.port, async (r) => Number(await r.call('CLUSTER', 'KEYSLOT', key)));
}
