/**
 * Talking to one Kubernetes API server. @kubernetes/client-node loads the configuration
 * (KubeConfig: kubeconfig files, in-cluster service account) and authenticates each request
 * (`applySecurityAuthentication`: bearer tokens, token files that rotate, exec plugins, client
 * certificates, CA bundles, proxies); we send the request ourselves with node:http(s).
 *
 * Why not its typed APIs or KubernetesObjectApi: the client's HTTP library (node-fetch) takes no
 * AbortSignal, so a cancelled task could not stop its request; the typed APIs re-serialise
 * objects through their models (dropping unknown fields, reformatting timestamps) where the
 * outputs must be the API server's objects as sent; KubernetesObjectApi cannot send a JSON Patch
 * (it takes the URL from the body) and needs discovery round-trips. The paths come from the
 * resource table, so one generic request covers every action.
 */
import http from 'node:http';
import https from 'node:https';
import type { KubeConfig, RequestContext } from '@kubernetes/client-node';
import { kubeLibrary } from './library.js';
import { ParError } from '../../errors/par-error.js';
import { classifyKubeError, statusError } from './classify.js';
import type { ExecPlugin, PluginCredential } from './exec-plugin.js';

export interface KubeRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path below the server URL, e.g. /api/v1/namespaces/default/pods. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly body?: unknown;
  readonly contentType?: string;
}

export interface KubeCallContext {
  readonly signal: AbortSignal;
  readonly maxResponseBytes: number;
}

export class KubeClient {
  /**
   * The library builds a new TLS agent for every request; this client keeps one keep-alive agent
   * per set of TLS settings, so a worker reuses its connections (and TLS sessions) to an API
   * server instead of a handshake per task. A changed client certificate (an exec plugin
   * rotating it) changes the fingerprint and replaces the agent. Plain http needs nothing: Node's
   * global agent keeps connections alive.
   */
  private tls: { agent: https.Agent; fingerprint: string } | undefined;

  private agentFor(made: unknown, plugin: PluginCredential | undefined): https.Agent | undefined {
    if (!(made instanceof https.Agent)) return undefined;
    const o = { ...made.options };
    // A client certificate from an exec plugin (the library's own plugin handling is bypassed).
    if (plugin?.clientCertificateData && plugin.clientKeyData) {
      o.cert = plugin.clientCertificateData;
      o.key = plugin.clientKeyData;
    }
    const fingerprint = JSON.stringify([o.ca, o.cert, o.key, o.pfx, o.passphrase, o.rejectUnauthorized, o.servername]);
    if (this.tls?.fingerprint !== fingerprint) {
      this.tls?.agent.destroy();
      this.tls = { agent: new https.Agent({ ...o, keepAlive: true }), fingerprint };
    }
    return this.tls.agent;
  }

  constructor(
    private readonly kc: KubeConfig,
    /** The server URL of the current context (may carry a path prefix, as behind a proxy). */
    private readonly server: string,
    /** The current user's exec credential plugin, run by us with a per-call environment. */
    private readonly plugin?: ExecPlugin,
  ) {}

  /** Sends a request; a non-2xx answer becomes a classified ParError. Returns the body text. */
  async text(req: KubeRequest, ctx: KubeCallContext): Promise<string> {
    const target = `${req.method} ${req.path}`;
    if (ctx.signal.aborted) throw new ParError('PAR_ERR_TASK_CANCELLED', `${target}: aborted before sending`);
    const url = new URL(this.server.replace(/\/+$/, '') + req.path);
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const { HttpMethod, RequestContext } = await kubeLibrary(); // loaded already: a KubeConfig exists
    const rc: RequestContext = new RequestContext(url.toString(), HttpMethod[req.method]);
    rc.setHeaderParam('Accept', 'application/json, */*');
    let body: string | undefined;
    if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      rc.setHeaderParam('Content-Type', req.contentType ?? 'application/json');
    }
    // Plugin failures are ParErrors with fixed messages (exec-plugin.ts); its output never gets here.
    const credential = this.plugin ? await this.plugin.credential(ctx.signal) : undefined;
    try {
      await this.kc.applySecurityAuthentication(rc);
    } catch (error) {
      // Raised before any byte is sent: a bad kubeconfig (http without insecure-skip-tls-verify,
      // an unreadable CA or token file, an auth-provider without a usable token). The library's
      // messages may quote a provider's output or a file, so only an errno code is shown.
      const code = (error as NodeJS.ErrnoException | undefined)?.code;
      if (this.kc.getCurrentUser()?.authProvider) {
        throw new ParError('PAR_ERR_K8S_AUTH_PLUGIN_FAILED', `the auth-provider gave no usable token${code ? ` (${code})` : ''}`);
      }
      const http = error instanceof Error && error.message.startsWith('HTTP protocol is not allowed');
      throw new ParError(
        'PAR_ERR_K8S_CONFIG_INVALID',
        `cannot authenticate: ${code ?? (http ? 'an http:// server needs insecure-skip-tls-verify: true' : 'the kubeconfig user or cluster settings are unusable')}`,
      );
    }
    if (credential?.token) rc.setHeaderParam('Authorization', `Bearer ${credential.token}`);
    try {
      const { status, text } = await send(rc, body, ctx, this.agentFor(rc.getAgent(), credential));
      if (status < 200 || status > 299) throw statusError(status, text, target);
      return text;
    } catch (error) {
      throw classifyKubeError(error, { target, signal: ctx.signal });
    }
  }

  /** Sends a request and parses the JSON answer (the Kubernetes object, list or Status). */
  async json(req: KubeRequest, ctx: KubeCallContext): Promise<unknown> {
    const text = await this.text(req, ctx);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new ParError('PAR_ERR_K8S_STATUS', `${req.method} ${req.path}: the API server answered with a body that is not JSON`);
    }
  }
}

function send(
  rc: RequestContext,
  body: string | undefined,
  ctx: KubeCallContext,
  agent: http.Agent | undefined,
): Promise<{ status: number; text: string }> {
  const url = new URL(rc.getUrl());
  const transport = url.protocol === 'https:' ? https : http;
  const headers: Record<string, string> = { ...rc.getHeaders() };
  if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
  return new Promise((resolve, reject) => {
    const req = transport.request(url, { method: rc.getHttpMethod(), headers, ...(agent ? { agent } : {}), signal: ctx.signal }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > ctx.maxResponseBytes) {
          res.destroy();
          req.destroy();
          reject(
            new ParError(
              'PAR_ERR_K8S_RESPONSE_TOO_LARGE',
              `${rc.getHttpMethod()} ${url.pathname}: more than ${ctx.maxResponseBytes} bytes`,
            ),
          );
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('response aborted')));
    });
    req.on('error', reject);
    req.end(body);
  });
}
