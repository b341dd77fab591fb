/**
 * Key-rotation helpers for end-to-end and security tests: run the one-shot `par` rotation
 * commands against a running system with the same settings its processes have.
 */
import { execFile } from 'node:child_process';
import { controlPlaneEnv, type System } from './system.js';
import { PAR_BIN } from './processes.js';
import { TEST_REDIS_URL } from './redis.js';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runParCommand(args: string[], env: Record<string, string>, timeoutMs = 60_000): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [PAR_BIN, ...args],
      {
        env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', PAR_LOG_LEVEL: 'warn', ...env },
        timeout: timeoutMs,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The control plane's environment (same Redis, prefix and TTL settings) for `par control-plane rotate-signing-key`. */
export function cpCommandEnv(system: System, extra: Record<string, string> = {}): Record<string, string> {
  const port = Number(new URL(system.cpUrl).port);
  return controlPlaneEnv(port, system.cpPrefix.replace(/:cp$/, ''), system.keys, extra);
}

/** The runner's environment (config dir, admin port) for `par runner rotate-identity`. */
export function runnerCommandEnv(system: System, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DD_BASE_URL: system.cpUrl,
    DD_PRIVATE_RUNNER_CONFIG_DIR: system.configDir,
    REDIS_URL: TEST_REDIS_URL,
    PAR_QUEUE_PREFIX: system.queuePrefix,
    PAR_RUNNER_ADMIN_PORT: new URL(system.runnerAdminUrl).port,
    ...extra,
  };
}

export async function rotateSigningKey(
  system: System,
  extra: Record<string, string> = {},
): Promise<{ kid: string; previousKid: string; previousNotAfter: number }> {
  const r = await runParCommand(['control-plane', 'rotate-signing-key', '--json'], cpCommandEnv(system, extra));
  if (r.code !== 0) throw new Error(`rotate-signing-key failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as { kid: string; previousKid: string; previousNotAfter: number };
}

export async function rotateIdentity(
  system: System,
  extra: Record<string, string> = {},
): Promise<{ kid: string; previousKid: string; previousKeyUntil: number }> {
  const r = await runParCommand(['runner', 'rotate-identity', '--json'], runnerCommandEnv(system, extra));
  if (r.code !== 0) throw new Error(`rotate-identity failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as { kid: string; previousKid: string; previousKeyUntil: number };
}
