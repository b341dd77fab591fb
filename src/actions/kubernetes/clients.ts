/**
 * Which cluster a task talks to, and the cache of clients per worker.
 *
 * A task's connection (integration `kubernetes`) names a kubeconfig file, relative to the
 * runner's config dir, and optionally a context in it:
 *   settings: { kubeconfigPath: "kube/config.yaml", context: "prod" }
 * Without a connection or a kubeconfigPath the worker uses its in-cluster service account
 * (KUBERNETES_SERVICE_HOST/PORT and the mounted token, read by @kubernetes/client-node).
 *
 * Clients are cached per (kubeconfig real path, mtime, context): editing the file takes effect
 * on the next task without a restart, and tasks do not re-parse YAML each time.
 */
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import { ParError } from '../../errors/par-error.js';
import type { ActionContext } from '../action.js';
import { KubeClient } from './client.js';

export const KUBERNETES_INTEGRATION = 'kubernetes';

const settingsSchema = z.object({
  kubeconfigPath: z.string().min(1).max(4096).optional(),
  context: z.string().min(1).max(253).optional(),
});

function configInvalid(detail: string): ParError {
  return new ParError('PAR_ERR_K8S_CONFIG_INVALID', detail);
}

function inside(root: string, candidate: string): boolean {
  const rel = relative(root, candidate);
  return rel.length > 0 && !rel.startsWith('..') && !isAbsolute(rel);
}

interface CacheEntry {
  readonly mtimeMs: number;
  readonly client: KubeClient;
}

/** Loads and caches clients; one per worker (bundle factory), shared by the three bundles. */
export class KubeClients {
  private readonly cache = new Map<string, CacheEntry>();
  private inCluster: KubeClient | undefined;

  async forTask(ctx: Pick<ActionContext, 'connection' | 'configDir'>): Promise<KubeClient> {
    const connection = ctx.connection;
    if (connection && connection.integration !== KUBERNETES_INTEGRATION) {
      throw configInvalid(`connection ${connection.id} is a "${connection.integration}" connection, not "${KUBERNETES_INTEGRATION}"`);
    }
    const parsed = settingsSchema.safeParse(connection?.settings ?? {});
    if (!parsed.success) throw configInvalid(`connection settings: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const { kubeconfigPath, context } = parsed.data;
    if (kubeconfigPath === undefined) {
      if (context !== undefined) throw configInvalid('connection settings name a context but no kubeconfigPath');
      this.inCluster ??= loadInCluster();
      return this.inCluster;
    }
    return this.fromFile(ctx.configDir, kubeconfigPath, context);
  }

  private async fromFile(configDir: string, kubeconfigPath: string, context: string | undefined): Promise<KubeClient> {
    const root = resolve(configDir);
    const candidate = resolve(root, kubeconfigPath);
    if (!inside(root, candidate)) throw configInvalid(`kubeconfigPath ${kubeconfigPath}: outside the config dir`);
    let real: string;
    let mtimeMs: number;
    try {
      const [realFile, realRoot] = await Promise.all([realpath(candidate), realpath(root)]);
      if (!inside(realRoot, realFile)) throw configInvalid(`kubeconfigPath ${kubeconfigPath}: leads outside the config dir`);
      real = realFile;
      mtimeMs = (await stat(real)).mtimeMs;
    } catch (error) {
      if (error instanceof ParError) throw error;
      throw configInvalid(`kubeconfigPath ${kubeconfigPath}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`);
    }
    const key = `${real}\0${context ?? ''}`;
    const cached = this.cache.get(key);
    if (cached && cached.mtimeMs === mtimeMs) return cached.client;
    const client = loadKubeconfig(real, kubeconfigPath, context);
    this.cache.set(key, { mtimeMs, client });
    return client;
  }

  close(): void {
    this.cache.clear();
    this.inCluster = undefined;
  }
}

function clientFor(kc: KubeConfig, where: string): KubeClient {
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) throw configInvalid(`${where}: the context has no cluster with a server URL`);
  try {
    const url = new URL(cluster.server);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('scheme');
  } catch {
    throw configInvalid(`${where}: cluster server is not an http(s) URL`);
  }
  return new KubeClient(kc, cluster.server);
}

function loadKubeconfig(file: string, shownPath: string, context: string | undefined): KubeClient {
  const kc = new KubeConfig();
  try {
    // Relative paths inside the file (certificate-authority, tokenFile) resolve against its dir.
    kc.loadFromFile(file);
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
  return clientFor(kc, `kubeconfigPath ${shownPath}`);
}

function loadInCluster(): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromCluster();
  const server = kc.getCurrentCluster()?.server ?? '';
  // loadFromCluster does not fail outside a cluster; it builds https://undefined:undefined.
  if (server.includes('undefined')) {
    throw configInvalid('no kubeconfigPath in the connection and not running in a cluster (KUBERNETES_SERVICE_HOST is unset)');
  }
  return clientFor(kc, 'in-cluster config');
}
