/**
 * Which cluster a task talks to, and the cache of clients per worker.
 *
 * A task's connection (integration `kubernetes`) names a kubeconfig file, relative to the
 * runner's config dir, and optionally a context in it:
 *   settings: { kubeconfigPath: "kube/config.yaml", context: "prod" }
 * Without a connection or a kubeconfigPath the worker uses its in-cluster service account
 * (KUBERNETES_SERVICE_HOST/PORT and the mounted token, read by @kubernetes/client-node).
 *
 * The kubeconfig is read through `readConfigFile` (confined to the config dir, a regular file of
 * at most 1 MiB, read asynchronously with a deadline: a FIFO or a huge file cannot freeze the
 * worker). Clients are cached per (kubeconfig real path, file version, context): editing the file
 * takes effect on the next task without a restart, and tasks do not re-parse YAML each time.
 *
 * Credential plugins: an `exec` block (or an auth-provider holding one) is taken out of the
 * library's hands and run by `ExecPlugin` with a per-call environment; an auth-provider's
 * `cmd-path` (azure, gcp: run synchronously through a shell by the library) is removed, so it is
 * never run: such a user works only while its cached `access-token` is valid.
 */
import { dirname } from 'node:path';
import type { KubeConfig, User } from '@kubernetes/client-node';
import { kubeLibrary, type KubeLibrary } from './library.js';
import { z } from 'zod';
import { ParError } from '../../errors/par-error.js';
import type { ActionContext } from '../action.js';
import { readConfigFile } from '../config-file.js';
import { KubeClient } from './client.js';
import { ExecPlugin, execPluginConfig, pluginBaseEnv } from './exec-plugin.js';

export const KUBERNETES_INTEGRATION = 'kubernetes';

const settingsSchema = z.object({
  kubeconfigPath: z.string().min(1).max(4096).optional(),
  context: z.string().min(1).max(253).optional(),
});

function configInvalid(detail: string): ParError {
  return new ParError('PAR_ERR_K8S_CONFIG_INVALID', detail);
}

interface CacheEntry {
  readonly version: string;
  readonly client: KubeClient;
}

/** Loads and caches clients; one per worker (bundle factory), shared by the three bundles. */
export class KubeClients {
  private readonly cache = new Map<string, CacheEntry>();
  private inCluster: KubeClient | undefined;
  private readonly pluginEnv: Readonly<Record<string, string>>;

  /** `parentEnv`: the worker's environment, from the composition root; plugins get a few harmless variables of it. */
  constructor(parentEnv?: Readonly<Record<string, string | undefined>>) {
    this.pluginEnv = Object.freeze(pluginBaseEnv(parentEnv));
  }

  async forTask(ctx: Pick<ActionContext, 'connection' | 'configDir'> & { signal?: AbortSignal }): Promise<KubeClient> {
    const connection = ctx.connection;
    if (connection && connection.integration !== KUBERNETES_INTEGRATION) {
      throw configInvalid(`connection ${connection.id} is a "${connection.integration}" connection, not "${KUBERNETES_INTEGRATION}"`);
    }
    const parsed = settingsSchema.safeParse(connection?.settings ?? {});
    if (!parsed.success)
      throw configInvalid(`connection settings: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const { kubeconfigPath, context } = parsed.data;
    const lib = await kubeLibrary();
    if (kubeconfigPath === undefined) {
      if (context !== undefined) throw configInvalid('connection settings name a context but no kubeconfigPath');
      this.inCluster ??= loadInCluster(lib);
      return this.inCluster;
    }
    return this.fromFile(lib, ctx.configDir, kubeconfigPath, context, ctx.signal);
  }

  private async fromFile(
    lib: KubeLibrary,
    configDir: string,
    kubeconfigPath: string,
    context: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<KubeClient> {
    const file = await readConfigFile({
      configDir,
      path: kubeconfigPath,
      confine: true,
      failCode: 'PAR_ERR_K8S_CONFIG_INVALID',
      label: `kubeconfigPath ${kubeconfigPath}`,
      signal,
    });
    const key = `${file.realPath}\0${context ?? ''}`;
    const cached = this.cache.get(key);
    if (cached && cached.version === file.version) return cached.client;
    const client = loadKubeconfig(lib, file.text, dirname(file.realPath), kubeconfigPath, context, this.pluginEnv);
    this.cache.set(key, { version: file.version, client });
    return client;
  }

  close(): void {
    this.cache.clear();
    this.inCluster = undefined;
  }
}

function clientFor(kc: KubeConfig, where: string, plugin?: ExecPlugin): KubeClient {
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) throw configInvalid(`${where}: the context has no cluster with a server URL`);
  try {
    const url = new URL(cluster.server);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('scheme');
  } catch {
    throw configInvalid(`${where}: cluster server is not an http(s) URL`);
  }
  return new KubeClient(kc, cluster.server, plugin);
}

/**
 * Takes credential plugins out of the library's hands (see the header): returns the current
 * user's exec plugin, if any, after replacing that user with a copy that has no `exec` and whose
 * auth-provider has no `exec` or `cmd-path`.
 */
function takePlugins(kc: KubeConfig, kubeconfigDir: string, pluginEnv: Readonly<Record<string, string>>): ExecPlugin | undefined {
  const current = kc.getCurrentUser();
  let plugin: ExecPlugin | undefined;
  kc.users = kc.users.map((user): User => {
    const provider = user.authProvider as { name?: unknown; config?: Record<string, unknown> } | null | undefined;
    let config: ReturnType<typeof execPluginConfig>;
    try {
      config = execPluginConfig(user, kubeconfigDir);
    } catch (error) {
      // A malformed plugin block fails the user's requests, with the same fixed message.
      if (user === current) throw error;
      config = undefined;
    }
    if (user === current && config) plugin = new ExecPlugin(config, pluginEnv);
    if (!user.exec && !provider) return user;
    const safeProvider = provider?.config
      ? { ...provider, config: Object.fromEntries(Object.entries(provider.config).filter(([k]) => k !== 'exec' && k !== 'cmd-path')) }
      : provider;
    // An auth-provider that only carried an exec block is the plugin itself: nothing left for the library.
    const keepProvider = safeProvider && safeProvider.name !== 'exec' && !(config && provider?.config?.['exec']);
    return { ...user, exec: undefined, authProvider: keepProvider ? safeProvider : undefined };
  });
  return plugin;
}

function loadKubeconfig(
  lib: KubeLibrary,
  text: string,
  kubeconfigDir: string,
  shownPath: string,
  context: string | undefined,
  pluginEnv: Readonly<Record<string, string>>,
): KubeClient {
  const kc = new lib.KubeConfig();
  try {
    kc.loadFromString(text);
    // Relative paths inside the file (certificate-authority, client-certificate, client-key) resolve against its dir.
    kc.makePathsAbsolute(kubeconfigDir);
  } catch {
    // The parser's message may quote the file, and the file may hold tokens.
    throw configInvalid(`kubeconfigPath ${shownPath}: not a valid kubeconfig`);
  }
  if (context !== undefined) {
    if (!kc.getContextObject(context)) throw configInvalid(`kubeconfigPath ${shownPath}: no context named "${context}"`);
    kc.setCurrentContext(context);
  } else if (!kc.getCurrentContext() || !kc.getContextObject(kc.getCurrentContext())) {
    throw configInvalid(`kubeconfigPath ${shownPath}: no current-context, and the connection names no context`);
  }
  const plugin = takePlugins(kc, kubeconfigDir, pluginEnv);
  return clientFor(kc, `kubeconfigPath ${shownPath}`, plugin);
}

function loadInCluster(lib: KubeLibrary): KubeClient {
  const kc = new lib.KubeConfig();
  kc.loadFromCluster();
  const server = kc.getCurrentCluster()?.server ?? '';
  // loadFromCluster does not fail outside a cluster; it builds https://undefined:undefined.
  if (server.includes('undefined')) {
    throw configInvalid('no kubeconfigPath in the connection and not running in a cluster (KUBERNETES_SERVICE_HOST is unset)');
  }
  return clientFor(kc, 'in-cluster config');
}
