/**
 * Turning one script command into what is actually spawned: the command itself (no sandbox), or
 * bwrap with the box's argv around it. For a box, the program is looked up on the host first (so
 * "not found" stays PAR_ERR_SCRIPT_SPAWN_FAILED, as without a box) and, when it lives outside
 * the paths the box shows (`/opt/scripts/x.sh`, pwsh under /opt), it is bound read-only at its
 * own path: for pwsh its whole install dir, which it needs. Only paths from the operator's config
 * (the program, a PowerShell script file) are exposed, never anything a task's parameters name.
 */
import { access, constants, realpath } from 'node:fs/promises';
import { basename, delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import { ParError } from '../../errors/par-error.js';
import { bwrapArgs, isVisible, type BwrapSandbox, type Exposure, type ScriptSandbox } from './sandbox.js';

export interface Launch {
  readonly program: string;
  readonly args: string[];
  readonly statusFd: boolean;
  readonly user?: { readonly uid: number; readonly gid: number } | undefined;
}

export interface LaunchCommand {
  /** The script's name, for messages. */
  readonly script: string;
  readonly program: string;
  readonly args: readonly string[];
  /** The script's PATH (the one execvp searches). */
  readonly path: string;
  /** Further files of the command to show in the box (a PowerShell entry's .ps1 file). */
  readonly files?: readonly string[];
  /** Show the program's whole directory (pwsh loads its assemblies from there). */
  readonly programDir?: boolean;
}

async function isExecutableFile(path: string): Promise<'ok' | 'missing' | 'denied'> {
  try {
    await access(path, constants.X_OK);
    return 'ok';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EACCES' ? 'denied' : 'missing';
  }
}

/** Where execvp would find `program` on the host: a path as is, a bare name on `path`. */
export async function locateProgram(program: string, path: string): Promise<{ found: string; state: 'ok' | 'missing' | 'denied' }> {
  if (program.includes('/')) {
    const found = isAbsolute(program) ? program : resolve(program);
    return { found, state: await isExecutableFile(found) };
  }
  for (const dir of path.split(delimiter)) {
    if (!isAbsolute(dir)) continue;
    const candidate = join(dir, program);
    const state = await isExecutableFile(candidate);
    if (state === 'ok') return { found: candidate, state };
  }
  return { found: program, state: 'missing' };
}

/** The binds that make `path` (and, with `wholeDir`, its real directory) usable inside the box. */
export async function exposuresFor(sandbox: BwrapSandbox, path: string, wholeDir = false): Promise<Exposure[]> {
  const real = await realpath(path).catch(() => undefined);
  if (real === undefined) return [];
  const source = wholeDir ? dirname(real) : real;
  const out: Exposure[] = [];
  if (!isVisible(sandbox, source)) out.push({ source, target: source });
  // The path as written must lead there too: /bin/x works through the /bin -> usr/bin link,
  // /opt/bin/tool (a link to elsewhere under /opt) needs its own bind.
  const parent = await realpath(dirname(path)).catch(() => dirname(path));
  const asWritten = join(parent, basename(path));
  if (asWritten !== real && !isVisible(sandbox, asWritten)) out.push({ source: real, target: path });
  return out;
}

export async function prepareLaunch(sandbox: ScriptSandbox, command: LaunchCommand): Promise<Launch> {
  if (sandbox.kind === 'none') return { program: command.program, args: [...command.args], statusFd: false, user: sandbox.user };
  const located = await locateProgram(command.program, command.path);
  if (located.state !== 'ok') {
    throw new ParError(
      'PAR_ERR_SCRIPT_SPAWN_FAILED',
      `script ${command.script}: ${located.state === 'missing' ? 'program not found' : 'program not executable'}`,
    );
  }
  const exposures: Exposure[] = [...(await exposuresFor(sandbox, located.found, command.programDir === true))];
  for (const file of command.files ?? []) if (isAbsolute(file)) exposures.push(...(await exposuresFor(sandbox, file)));
  return { program: sandbox.bwrap, args: bwrapArgs(sandbox, located.found, command.args, exposures), statusFd: true, user: sandbox.user };
}
