/**
 * Redis commands per task, by process: MONITOR (on its own connection) while tasks run at 1 in
 * flight, counting the commands that touch the system's keys. A top-level command's source
 * address is mapped to the process holding that socket (/proc/<pid>/fd -> /proc/net/tcp{,6});
 * commands run inside Lua scripts (source `lua`) are counted apart. MONITOR slows Redis: this
 * phase runs last and is not timed.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { runLanes, type BenchSystem } from './bench-system.js';
import { type BenchContext, type BenchPhase } from './phase.js';

/** Local TCP port -> socket inode, from /proc/net/tcp and tcp6. */
function portsByInode(): Map<string, number> {
  const byInode = new Map<string, number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const port = Number.parseInt(cols[1]!.split(':')[1] ?? '', 16);
      byInode.set(cols[9]!, port);
    }
  }
  return byInode;
}

/** Local port -> process name, for every socket the system's processes hold. */
function processByPort(processes: { name: string; pid: number }[]): Map<number, string> {
  const ports = portsByInode();
  const out = new Map<number, string>();
  for (const p of processes) {
    for (const fd of readdirSync(`/proc/${p.pid}/fd`)) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${p.pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      const port = m ? ports.get(m[1]!) : undefined;
      if (port !== undefined) out.set(port, p.name);
    }
  }
  return out;
}

export function redisCommandsPhase(options: { tasks: number }): BenchPhase {
  return {
    name: 'redis commands per task',
    timeoutMs: 300_000,
    async run(ctx: BenchContext) {
      const bench: BenchSystem | undefined = ctx.system;
      if (!bench) throw new Error('the system is not running');
      const base = bench.system.cpPrefix.replace(/:cp$/, '');
      const counts = new Map<string, number>();
      let lua = 0;
      const monitor: Redis = await bench.redis.monitor();
      // ioredis may report MONITOR lines that arrive while it closes as a queue error: after
      // `stopping` they are ignored; before, they fail the phase instead of crashing the process.
      let stopping = false;
      let monitorError: unknown;
      monitor.on('error', (error: unknown) => {
        if (!stopping) monitorError ??= error;
      });
      try {
        monitor.on('monitor', (_time: string, args: string[], source: string) => {
          if (!args.some((a) => typeof a === 'string' && a.includes(base))) return;
          if (source === 'lua') {
            lua++;
            return;
          }
          counts.set(source, (counts.get(source) ?? 0) + 1);
        });
        const run = await runLanes(bench, options.tasks, 1);
        if (run.failed > 0) throw new Error(`${run.failed} of ${options.tasks} tasks did not succeed`);
        // MONITOR lines of the last commands may still be on their way.
        await new Promise((r) => setTimeout(r, 500));
        if (monitorError !== undefined) throw new Error('the MONITOR connection failed', { cause: monitorError });
      } finally {
        stopping = true;
        monitor.removeAllListeners('monitor');
        monitor.disconnect();
      }
      const owners = processByPort(bench.processes());
      const perProcess = new Map<string, number>();
      let top = 0;
      for (const [source, n] of counts) {
        const port = Number(source.split(':').pop());
        const name = owners.get(port) ?? 'other (closed or unknown socket)';
        perProcess.set(name, (perProcess.get(name) ?? 0) + n);
        top += n;
      }
      const note = `${options.tasks} tasks at 1 in flight, MONITOR`;
      for (const [name, n] of [...perProcess].sort())
        ctx.rows.push({ metric: `redis commands per task: ${name}`, value: (n / options.tasks).toFixed(1), note });
      ctx.rows.push({ metric: 'redis commands per task: top-level total', value: (top / options.tasks).toFixed(1), note });
      ctx.rows.push({ metric: 'redis commands per task: inside Lua', value: (lua / options.tasks).toFixed(1), note });
      ctx.figures.set('redis.commandsPerTask', top / options.tasks);
      ctx.figures.set('redis.luaCallsPerTask', lua / options.tasks);
    },
  };
}
