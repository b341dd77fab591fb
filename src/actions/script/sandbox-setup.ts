/**
 * Deciding, once at worker start-up, which box scripts run in (`PAR_SCRIPT_SANDBOX`,
 * `PAR_SCRIPT_USER`, `PAR_SCRIPT_SANDBOX_BIND`, `PAR_SCRIPT_SANDBOX_NETWORK`), and proving it works: a bad or impossible
 * setting stops the worker with a message naming it, rather than failing every script later.
 *
 * - `bwrap`: bubblewrap must be on the worker's PATH and a probe run (`true` in the real box) must succeed.
 * - `auto` (default): the same, but where bwrap is missing or cannot build the box (no user
 *   namespaces and not root, a container's seccomp profile), scripts run unboxed with a warning.
 * - `none`: unboxed, as the worker's user (or `PAR_SCRIPT_USER`).
 * `PAR_SCRIPT_SANDBOX_NETWORK=none` needs the box: without it the worker refuses to start.
 * `PAR_SCRIPT_USER` (a name from /etc/passwd, `uid` or `uid:gid`; not root) is checked here too:
 * switching needs the worker to run as root.
 */
import { lstat, readFile, readlink, realpath, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { ParError } from '../../errors/par-error.js';
import type { Logger } from '../../logging/logger.js';
import { SAFE_PATH } from './environment.js';
import { runProcess } from './process-runner.js';
import { locateProgram } from './sandbox-launch.js';
import {
  bwrapArgs,
  ETC_ENTRIES,
  isWithin,
  TOP_LEVEL_ENTRIES,
  type BwrapSandbox,
  type HostLayout,
  type ScriptSandbox,
  type ScriptUser,
  type TopLevelEntry,
} from './sandbox.js';

export type SandboxMode = 'auto' | 'bwrap' | 'none';

export interface SandboxSettings {
  /** PAR_SCRIPT_SANDBOX */
  readonly mode: SandboxMode;
  /** PAR_SCRIPT_USER */
  readonly user?: string | undefined;
  /** PAR_SCRIPT_SANDBOX_BIND */
  readonly binds?: readonly string[] | undefined;
  /** PAR_SCRIPT_SANDBOX_NETWORK: `host` (default) or `none`. */
  readonly network?: 'host' | 'none' | undefined;
  readonly configDir: string;
  /** The worker's PATH, searched for bwrap (SAFE_PATH when unset). */
  readonly path?: string | undefined;
}

/** The uid the worker runs as; a parameter so tests can ask "what if not root". */
export interface SetupHost {
  readonly uid: number;
  readonly passwdFile?: string;
}

const PROBE_TIMEOUT_MS = 10_000;

function invalid(setting: string, problem: string): ParError {
  return new ParError('PAR_ERR_CONFIG_INVALID', `${setting}: ${problem}`);
}

/** `name`, `uid` or `uid:gid` -> uid and gid, from /etc/passwd for a name. */
export async function resolveScriptUser(spec: string, host: SetupHost): Promise<ScriptUser> {
  let user: ScriptUser | undefined;
  const numeric = /^(\d{1,10})(?::(\d{1,10}))?$/.exec(spec);
  if (numeric) {
    const uid = Number(numeric[1]);
    user = { name: spec, uid, gid: Number(numeric[2] ?? numeric[1]) };
  } else {
    const passwd = await readFile(host.passwdFile ?? '/etc/passwd', 'utf8').catch(() => '');
    for (const line of passwd.split('\n')) {
      const [name, , uid, gid] = line.split(':');
      if (name === spec && uid !== undefined && gid !== undefined && /^\d+$/.test(uid) && /^\d+$/.test(gid)) {
        user = { name, uid: Number(uid), gid: Number(gid) };
        break;
      }
    }
    if (!user) throw invalid('PAR_SCRIPT_USER', `no user "${spec}" in ${host.passwdFile ?? '/etc/passwd'}`);
  }
  if (user.uid > 0xfffffffe || user.gid > 0xfffffffe) throw invalid('PAR_SCRIPT_USER', 'uid or gid out of range');
  if (user.uid === 0 || user.gid === 0)
    throw invalid('PAR_SCRIPT_USER', 'must not be root (uid or gid 0): the point is to run scripts with fewer rights than the worker');
  if (host.uid !== 0 && host.uid !== user.uid) {
    throw invalid('PAR_SCRIPT_USER', `switching scripts to uid ${user.uid} needs the worker to run as root (it runs as uid ${host.uid})`);
  }
  return user;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Which top-level dirs are symlinks (merged /usr) and which /etc entries exist here. */
export async function readHostLayout(): Promise<HostLayout> {
  const topLevel: TopLevelEntry[] = [];
  for (const path of TOP_LEVEL_ENTRIES) {
    const info = await lstat(path).catch(() => undefined);
    if (!info) continue;
    if (info.isSymbolicLink()) {
      // A dangling link would make bwrap fail for nothing: skip it.
      if (await exists(path)) topLevel.push({ path, symlinkTo: await readlink(path) });
    } else if (info.isDirectory()) {
      topLevel.push({ path });
    }
  }
  const etc: string[] = [];
  for (const path of ETC_ENTRIES) if (await exists(path)) etc.push(path);
  return { topLevel, etc };
}

/** PAR_SCRIPT_SANDBOX_BIND entries: existing absolute paths that do not show the config dir's contents. */
export async function checkBinds(binds: readonly string[], configDir: string): Promise<string[]> {
  const checked: string[] = [];
  for (const bind of binds) {
    if (!isAbsolute(bind)) throw invalid('PAR_SCRIPT_SANDBOX_BIND', `${bind}: must be an absolute path`);
    const real = await realpath(bind).catch(() => undefined);
    if (real === undefined) throw invalid('PAR_SCRIPT_SANDBOX_BIND', `${bind}: does not exist`);
    if (real === '/' || isWithin(real, '/proc') || isWithin(real, '/sys'))
      throw invalid('PAR_SCRIPT_SANDBOX_BIND', `${bind}: binding / , /proc or /sys would undo the sandbox`);
    // The config dir under a bound path is covered by an empty tmpfs; a path inside it would show secrets.
    if (isWithin(real, configDir))
      throw invalid('PAR_SCRIPT_SANDBOX_BIND', `${bind}: is inside the config dir, which holds the identity and credentials`);
    checked.push(real);
  }
  return checked;
}

/** Runs `true` in the box; undefined when it worked, else bwrap's complaint. */
export async function probeSandbox(sandbox: BwrapSandbox): Promise<string | undefined> {
  const result = await runProcess({
    program: sandbox.bwrap,
    args: bwrapArgs(sandbox, 'true', []),
    env: { PATH: SAFE_PATH },
    maxOutputBytes: 64 * 1024,
    signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    user: sandbox.user,
    statusFd: true,
  });
  const end = result.ended;
  if (end.kind === 'exited' && end.exitCode === 0) return undefined;
  switch (end.kind) {
    case 'exited':
      return `the probe exited with code ${end.exitCode}`;
    case 'sandboxFailed':
      return end.message;
    case 'spawnFailed':
      return `${sandbox.bwrap}: ${end.error.code ?? 'cannot start'}`;
    case 'aborted':
      return `the probe did not finish within ${PROBE_TIMEOUT_MS} ms`;
    case 'outputTooLarge':
      return 'the probe wrote too much output';
  }
}

/** Builds and checks the sandbox; throws PAR_ERR_CONFIG_INVALID naming the setting when it cannot be had. */
export async function prepareScriptSandbox(
  settings: SandboxSettings,
  logger: Logger,
  host: SetupHost = { uid: process.getuid?.() ?? 0 },
): Promise<ScriptSandbox> {
  const user = settings.user === undefined ? undefined : await resolveScriptUser(settings.user, host);
  const configDir = await realpath(resolve(settings.configDir)).catch(() => resolve(settings.configDir));
  const binds = await checkBinds(settings.binds ?? [], configDir);
  const unboxed = (why: string): ScriptSandbox => {
    logger.warn(
      { setting: 'PAR_SCRIPT_SANDBOX', user: user?.name },
      `scripts run without a sandbox (${why})${user ? '' : " with the worker's own rights: they can read what the worker can"}`,
    );
    return { kind: 'none', user };
  };
  if (settings.mode === 'none') {
    if (settings.network === 'none')
      throw invalid('PAR_SCRIPT_SANDBOX_NETWORK', 'is "none", which needs the bwrap sandbox, but PAR_SCRIPT_SANDBOX is "none"');
    return unboxed('PAR_SCRIPT_SANDBOX=none');
  }

  const located = await locateProgram('bwrap', settings.path ?? SAFE_PATH);
  const bwrap = located.state === 'ok' ? located.found : undefined;
  if (!bwrap) {
    if (settings.network === 'none' && settings.mode !== 'bwrap')
      throw invalid(
        'PAR_SCRIPT_SANDBOX_NETWORK',
        'is "none", which needs the bwrap sandbox, but no bwrap is on PATH (Debian/Ubuntu: apt-get install bubblewrap)',
      );
    if (settings.mode === 'bwrap')
      throw invalid('PAR_SCRIPT_SANDBOX', 'is "bwrap" but no bwrap is on PATH (Debian/Ubuntu: apt-get install bubblewrap)');
    return unboxed('no bwrap on PATH; install bubblewrap');
  }
  const layout = await readHostLayout();
  // A user namespace first; as root without a user switch, a box without one still isolates
  // (mount + PID namespaces, all capabilities dropped) where user namespaces are disabled.
  const candidates = host.uid === 0 && !user ? [true, false] : [true];
  const problems: string[] = [];
  for (const userNamespace of candidates) {
    const sandbox: BwrapSandbox = {
      kind: 'bwrap',
      bwrap,
      userNamespace,
      layout,
      configDir,
      binds,
      isolateNetwork: settings.network === 'none',
      user,
    };
    const problem = await probeSandbox(sandbox);
    if (problem === undefined) {
      logger.info(
        { bwrap, userNamespace, user: user?.name, binds, network: settings.network ?? 'host' },
        'scripts run in a bubblewrap sandbox',
      );
      return sandbox;
    }
    problems.push(problem);
  }
  // The operator asked for no network: without the box that cannot be had, so refuse rather than degrade.
  const setting =
    settings.mode === 'bwrap'
      ? user
        ? 'PAR_SCRIPT_SANDBOX / PAR_SCRIPT_USER'
        : 'PAR_SCRIPT_SANDBOX'
      : settings.network === 'none'
        ? 'PAR_SCRIPT_SANDBOX_NETWORK'
        : undefined;
  const why = `bwrap cannot build the sandbox here: ${problems.at(-1) ?? 'unknown'} (it needs user namespaces, or root with CAP_SYS_ADMIN; in a container, a seccomp profile that allows them)`;
  if (setting) throw invalid(setting, why);
  return unboxed(why);
}
