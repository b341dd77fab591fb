/**
 * Established TCP connections seen in /proc/net/tcp (IPv4; the tests use 127.0.0.1), for tests that
 * count sockets: which connections a process holds to a port, and the control plane's side of them.
 */
import { readFile, readdir, readlink } from 'node:fs/promises';

export interface TcpEntry {
  localPort: number;
  remotePort: number;
  inode: string;
}

const ESTABLISHED = '01';

/** Every established IPv4 connection on this machine. */
async function established(): Promise<TcpEntry[]> {
  const text = await readFile('/proc/net/tcp', 'utf8');
  const entries: TcpEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== ESTABLISHED) continue;
    const port = (addr: string | undefined): number => parseInt(addr?.split(':')[1] ?? '', 16);
    entries.push({ localPort: port(f[1]), remotePort: port(f[2]), inode: f[9] ?? '' });
  }
  return entries;
}

async function socketInodes(pid: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [])) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m?.[1]) inodes.add(m[1]);
  }
  return inodes;
}

/**
 * The connections `pid` holds to `serverPort`, counted on the server's side: the server sockets on
 * `serverPort` whose peer is one of `pid`'s sockets. Returns the peers' (client) ports.
 */
export async function connectionsFrom(pid: number, serverPort: number): Promise<number[]> {
  const [all, inodes] = await Promise.all([established(), socketInodes(pid)]);
  const clientPorts = new Set(all.filter((e) => e.remotePort === serverPort && inodes.has(e.inode)).map((e) => e.localPort));
  return all.filter((e) => e.localPort === serverPort && clientPorts.has(e.remotePort)).map((e) => e.remotePort);
}
