/**
 * The box a script runs in, as data, and the bubblewrap (`bwrap`) argv that builds it. Pure: the
 * host facts it needs (which top-level dirs are symlinks, which /etc files exist, where the
 * program really lives) are looked up elsewhere (`sandbox-setup.ts`, `run-script.ts`) and passed in,
 * so the argv can be tested without a host.
 *
 * Why a box: a script runs with the worker's rights. Without one, `cat -- {{ parameters.file }}`
 * reads the runner's identity (`config.yaml`, its private key), every credential file in the config
 * dir, and `/proc/<worker>/environ`; and a child that calls `setsid` outlives the timeout kill.
 *
 * What the bwrap box holds:
 * - `/usr` and the top-level `/bin`, `/sbin`, `/lib*` (as the symlinks they are on merged-/usr
 *   hosts, else read-only binds), a short list of `/etc` files (name service, DNS, TLS roots,
 *   dynamic linker, time zone, Debian alternatives), all read-only;
 * - a fresh `/proc` of its own PID namespace (the worker and every other host process are not in
 *   it), a minimal `/dev`, a private empty `/tmp` (the working directory);
 * - the program itself when it lives outside those (bound read-only at its path), and the
 *   operator's `PAR_SCRIPT_SANDBOX_BIND` paths, read-only;
 * - never the config dir: when it lies under a bound path, an empty read-only tmpfs covers it.
 * Capabilities are dropped, no new privileges can be gained (bwrap sets NO_NEW_PRIVS), IPC, UTS
 * and cgroup namespaces are private, and the box dies with bwrap (`--die-with-parent`): killing
 * bwrap ends the namespace's PID 1, and the kernel then kills every process in it, `setsid` or not.
 * The network is the host's (scripts that call services need it), unless
 * PAR_SCRIPT_SANDBOX_NETWORK=none gives the box a network namespace of its own (only its loopback:
 * not the worker's Redis on 127.0.0.1, nor anything else).
 */
import { posix } from 'node:path';

/** A user scripts run as (`PAR_SCRIPT_USER`): the worker switches to it before exec (needs root). */
export interface ScriptUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** One top-level entry of the host (`/bin`, `/lib64`, ...): a symlink to recreate, or a dir to bind. */
export interface TopLevelEntry {
  readonly path: string;
  /** The link's target as written (`usr/bin`) when the entry is a symlink. */
  readonly symlinkTo?: string | undefined;
}

/** What of the host the box shows, looked up once at start-up. */
export interface HostLayout {
  readonly topLevel: readonly TopLevelEntry[];
  /** The /etc entries of ETC_ENTRIES that exist on this host. */
  readonly etc: readonly string[];
}

export interface NoSandbox {
  readonly kind: 'none';
  readonly user?: ScriptUser | undefined;
}

export interface BwrapSandbox {
  readonly kind: 'bwrap';
  /** Absolute path of the bwrap binary. */
  readonly bwrap: string;
  /** `--unshare-user`: false only where the worker is root and user namespaces are unavailable. */
  readonly userNamespace: boolean;
  readonly layout: HostLayout;
  /** The config dir (absolute): never visible inside. */
  readonly configDir: string;
  /** PAR_SCRIPT_SANDBOX_BIND: absolute paths bound read-only. */
  readonly binds: readonly string[];
  /** PAR_SCRIPT_SANDBOX_NETWORK=none: a network namespace with only its own loopback. */
  readonly isolateNetwork?: boolean | undefined;
  readonly user?: ScriptUser | undefined;
}

export type ScriptSandbox = NoSandbox | BwrapSandbox;

/** A host path shown read-only inside the box at `target`. */
export interface Exposure {
  readonly source: string;
  readonly target: string;
}

/** Top-level entries shown when present: the program loaders and binaries live there. */
export const TOP_LEVEL_ENTRIES = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'] as const;

/**
 * The /etc a script gets: enough to resolve names and users, verify TLS, load shared libraries and
 * follow Debian's /usr/bin -> /etc/alternatives links. Not /etc/shadow, not /etc/ssl/private.
 */
export const ETC_ENTRIES = [
  '/etc/alternatives',
  '/etc/ca-certificates',
  '/etc/ca-certificates.conf',
  '/etc/debian_version',
  '/etc/gai.conf',
  '/etc/group',
  '/etc/host.conf',
  '/etc/hosts',
  '/etc/ld.so.cache',
  '/etc/ld.so.conf',
  '/etc/ld.so.conf.d',
  '/etc/locale.alias',
  '/etc/localtime',
  '/etc/mime.types',
  '/etc/networks',
  '/etc/nsswitch.conf',
  '/etc/os-release',
  '/etc/passwd',
  '/etc/protocols',
  '/etc/resolv.conf',
  '/etc/services',
  '/etc/ssl/certs',
  '/etc/ssl/openssl.cnf',
  '/etc/timezone',
] as const;

/** The script's working directory inside the box: its private tmpfs. */
export const SANDBOX_CWD = '/tmp';

/** The fd bwrap writes its JSON status to (`{"child-pid":..}` then `{"exit-code":..}`). */
export const STATUS_FD = 3;

/** `a` is `b` or lies below it (both absolute, normalised). */
export function isWithin(path: string, dir: string): boolean {
  const p = posix.normalize(path);
  const d = posix.normalize(dir);
  if (d === '/') return true;
  return p === d || p.startsWith(d.endsWith('/') ? d : `${d}/`);
}

/** The host paths the box shows as they are (before the config dir is hidden and programs added). */
export function visibleRoots(sandbox: BwrapSandbox): string[] {
  const roots = ['/usr'];
  for (const entry of sandbox.layout.topLevel) {
    // A symlink (/bin -> usr/bin) points into /usr, already visible.
    if (entry.symlinkTo === undefined) roots.push(entry.path);
  }
  return [...roots, ...sandbox.layout.etc, ...sandbox.binds];
}

/** Whether `path` (absolute, symlinks resolved) is shown inside the box without an extra bind. */
export function isVisible(sandbox: BwrapSandbox, path: string): boolean {
  if (isWithin(path, sandbox.configDir)) return false;
  return visibleRoots(sandbox).some((root) => isWithin(path, root));
}

/**
 * The bwrap argv (without bwrap itself) that runs `program args` in the box. `exposures` are the
 * program's own files when they live outside the visible paths (see `run-script.ts`).
 */
export function bwrapArgs(sandbox: BwrapSandbox, program: string, args: readonly string[], exposures: readonly Exposure[] = []): string[] {
  const argv: string[] = [
    '--die-with-parent',
    '--new-session',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    ...(sandbox.userNamespace ? ['--unshare-user'] : []),
    ...(sandbox.isolateNetwork ? ['--unshare-net'] : []),
    '--cap-drop',
    'ALL',
    '--ro-bind',
    '/usr',
    '/usr',
  ];
  for (const entry of sandbox.layout.topLevel) {
    if (entry.symlinkTo !== undefined) argv.push('--symlink', entry.symlinkTo, entry.path);
    else argv.push('--ro-bind', entry.path, entry.path);
  }
  for (const path of sandbox.layout.etc) argv.push('--ro-bind', path, path);
  argv.push('--proc', '/proc', '--dev', '/dev', '--tmpfs', SANDBOX_CWD);
  for (const path of sandbox.binds) argv.push('--ro-bind', path, path);
  // Hide the config dir where a bound path would show it (e.g. /etc/dd-action-runner/config under
  // a bound /etc/dd-action-runner). Elsewhere it is simply absent.
  const hideConfigDir = visibleRoots(sandbox).some((root) => isWithin(sandbox.configDir, root));
  if (hideConfigDir) argv.push('--tmpfs', sandbox.configDir);
  for (const e of exposures) argv.push('--ro-bind', e.source, e.target);
  // Read-only after the exposures are mounted into it (their mount points are created first).
  if (hideConfigDir) argv.push('--remount-ro', sandbox.configDir);
  argv.push('--chdir', SANDBOX_CWD, '--json-status-fd', String(STATUS_FD), '--', program, ...args);
  return argv;
}
