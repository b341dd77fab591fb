/**
 * Runs a kubeconfig `exec` credential plugin (client.authentication.k8s.io ExecCredential), in
 * place of @kubernetes/client-node's ExecAuth, which:
 *  - writes the plugin's `exec.env` into the worker's own `process.env` and never undoes it, so
 *    one connection's variables reach every later plugin, script and library of the worker;
 *  - puts the plugin's stderr in the error it throws (plugins print tokens and URLs there);
 *  - has no deadline and no output cap.
 *
 * Here each run gets an environment built for that call (a few harmless variables of the
 * worker's: PATH, HOME, locale; then `KUBERNETES_EXEC_INFO`; then the plugin's `exec.env`), no
 * shell, its own process group (killed with SIGKILL when the task's signal aborts), stdout capped
 * at 1 MiB, stderr discarded. Any failure is PAR_ERR_K8S_AUTH_PLUGIN_FAILED with a fixed
 * description (exit status, "no valid ExecCredential"), never the plugin's output.
 *
 * A credential with an `expirationTimestamp` is reused until shortly before it expires (as
 * kubectl does); one without is fetched again for every request.
 */
import { spawn } from 'node:child_process';
import { isAbsolute, resolve } from 'node:path';
import { ParError } from '../../errors/par-error.js';

export const MAX_PLUGIN_OUTPUT_BYTES = 1024 * 1024;
/** Renew a cached credential this long before it expires. */
const EXPIRY_MARGIN_MS = 10_000;

/** Worker variables a plugin may see; everything else of the worker's environment stays out. */
export const PLUGIN_BASE_ENV_NAMES: readonly string[] = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR'];
const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

export interface ExecPluginConfig {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly apiVersion: string;
}

export interface PluginCredential {
  readonly token?: string | undefined;
  readonly clientCertificateData?: string | undefined;
  readonly clientKeyData?: string | undefined;
}

function pluginFailed(detail: string): ParError {
  return new ParError('PAR_ERR_K8S_AUTH_PLUGIN_FAILED', detail);
}

/** The base environment from the worker's (given by the composition root); never mutated. */
export function pluginBaseEnv(parentEnv: Readonly<Record<string, string | undefined>> | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of PLUGIN_BASE_ENV_NAMES) {
    const value = parentEnv?.[name];
    if (value !== undefined) env[name] = value;
  }
  env['PATH'] ??= DEFAULT_PATH;
  return env;
}

/**
 * Reads a kubeconfig user's `exec` block (or an `auth-provider` whose config holds one) into a
 * plugin config; undefined when the user has none. Malformed blocks fail with a fixed message.
 */
export function execPluginConfig(user: { exec?: unknown; authProvider?: unknown }, kubeconfigDir: string): ExecPluginConfig | undefined {
  let exec: unknown = user.exec;
  const provider = user.authProvider as { name?: unknown; config?: { exec?: unknown } } | null | undefined;
  if (!exec && provider?.config && typeof provider.config === 'object') exec = provider.config.exec;
  if (!exec || typeof exec !== 'object') {
    if (provider?.name === 'exec') throw pluginFailed('the auth-provider "exec" has no exec block');
    return undefined;
  }
  const e = exec as { command?: unknown; args?: unknown; env?: unknown; apiVersion?: unknown };
  if (typeof e.command !== 'string' || e.command.length === 0) throw pluginFailed('the exec block names no command');
  const args = Array.isArray(e.args) ? e.args.map((a) => String(a)) : [];
  const env: Record<string, string> = {};
  if (Array.isArray(e.env)) {
    for (const entry of e.env as unknown[]) {
      const { name, value } = (entry ?? {}) as { name?: unknown; value?: unknown };
      if (typeof name === 'string' && name.length > 0 && !name.includes('=') && !name.includes('\0'))
        // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a kubeconfig env value (a YAML scalar), printed as String() prints it
        env[name] = value === undefined || value === null ? '' : String(value);
    }
  }
  // As kubectl: a command with a slash is relative to the kubeconfig's directory; a bare name is looked up in PATH.
  const command = e.command.includes('/') && !isAbsolute(e.command) ? resolve(kubeconfigDir, e.command) : e.command;
  const apiVersion = typeof e.apiVersion === 'string' && e.apiVersion.length > 0 ? e.apiVersion : 'client.authentication.k8s.io/v1';
  return { command, args, env, apiVersion };
}

function parseCredential(stdout: string): { credential: PluginCredential; expiresAt: number | undefined } {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    throw pluginFailed('the plugin did not print an ExecCredential (not JSON)');
  }
  const status = (doc as { status?: unknown } | null)?.status;
  if (!status || typeof status !== 'object') throw pluginFailed('the plugin printed an ExecCredential without status');
  const s = status as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);
  const credential = {
    token: str(s['token']),
    clientCertificateData: str(s['clientCertificateData']),
    clientKeyData: str(s['clientKeyData']),
  };
  if (!credential.token && !(credential.clientCertificateData && credential.clientKeyData)) {
    throw pluginFailed('the plugin printed an ExecCredential with neither a token nor a client certificate and key');
  }
  const expiry = str(s['expirationTimestamp']);
  const expiresAt = expiry ? Date.parse(expiry) : undefined;
  return { credential, expiresAt: expiresAt !== undefined && Number.isFinite(expiresAt) ? expiresAt : undefined };
}

/** Runs the plugin once with its own environment; resolves its credential. */
export function runExecPlugin(
  config: ExecPluginConfig,
  baseEnv: Readonly<Record<string, string>>,
  signal: AbortSignal,
): Promise<{ credential: PluginCredential; expiresAt: number | undefined }> {
  if (signal.aborted) return Promise.reject(new ParError('PAR_ERR_TASK_CANCELLED', 'exec plugin: the task ended before it ran'));
  const env: Record<string, string> = {
    ...baseEnv,
    KUBERNETES_EXEC_INFO: JSON.stringify({ apiVersion: config.apiVersion, kind: 'ExecCredential', spec: { interactive: false } }),
    ...config.env,
  };
  return new Promise((resolvePromise, reject) => {
    let settled = false;
    const chunks: Buffer[] = [];
    let size = 0;
    const child = spawn(config.command, [...config.args], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true, shell: false });
    const kill = () => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      }
    };
    const finish = (
      ...[error, value]: [error: ParError] | [error: undefined, value: { credential: PluginCredential; expiresAt: number | undefined }]
    ) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (error) {
        kill();
        reject(error);
      } else resolvePromise(value);
    };
    const onAbort = () => finish(new ParError('PAR_ERR_TASK_CANCELLED', 'exec plugin: stopped when the task ended'));
    signal.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_PLUGIN_OUTPUT_BYTES) {
        finish(pluginFailed(`the plugin printed more than ${MAX_PLUGIN_OUTPUT_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    // Read and dropped: the plugin's diagnostics may carry tokens and must not block on a full pipe.
    child.stderr.resume();
    child.on('error', (error: NodeJS.ErrnoException) => finish(pluginFailed(`the plugin could not be started (${error.code ?? 'error'})`)));
    child.on('close', (code, sig) => {
      if (settled) return;
      if (code !== 0) {
        finish(pluginFailed(sig ? `the plugin was killed by ${sig}` : `the plugin exited with status ${code}`));
        return;
      }
      try {
        finish(undefined, parseCredential(Buffer.concat(chunks).toString('utf8')));
      } catch (error) {
        finish(error instanceof ParError ? error : pluginFailed('the plugin output could not be read'));
      }
    });
  });
}

/** One kubeconfig user's plugin, with its cached credential. */
export class ExecPlugin {
  private cached: { credential: PluginCredential; expiresAt: number } | undefined;

  constructor(
    private readonly config: ExecPluginConfig,
    private readonly baseEnv: Readonly<Record<string, string>>,
  ) {}

  async credential(signal: AbortSignal): Promise<PluginCredential> {
    if (this.cached && this.cached.expiresAt - EXPIRY_MARGIN_MS > Date.now()) return this.cached.credential;
    const { credential, expiresAt } = await runExecPlugin(this.config, this.baseEnv, signal);
    this.cached = expiresAt !== undefined ? { credential, expiresAt } : undefined;
    return credential;
  }
}
