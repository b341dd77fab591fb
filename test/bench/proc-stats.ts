/**
 * Per-process figures from Linux /proc and Redis: CPU time (utime + stime of /proc/<pid>/stat,
 * in clock ticks of 10 ms), resident memory (VmRSS of /proc/<pid>/status) and Redis's own CPU
 * (`INFO cpu`: used_cpu_sys + used_cpu_user). The Redis figure covers every client of that Redis,
 * other tests included: on a shared machine it is an upper bound.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

const CLOCK_TICKS_PER_SECOND = 100;

/** CPU milliseconds (user + system) a process has used so far. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces: fields are counted after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** Resident set size in MB (VmRSS). */
export function processRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}

/** Redis server CPU milliseconds (sys + user) so far. */
export async function redisCpuMs(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const read = (name: string): number => {
    const m = new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info);
    if (!m) throw new Error(`no ${name} in Redis INFO cpu`);
    return Number(m[1]);
  };
  return (read('used_cpu_sys') + read('used_cpu_user')) * 1000;
}

export function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'unknown';
  }
}
