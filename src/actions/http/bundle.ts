/**
 * The `com.datadoghq.http` bundle. Its actions share, for the life of the worker, one network
 * policy (host allowlist, blocked address ranges) and one undici Agent per TLS mode, created here once
 * and closed with the bundle. The CA bundle file is read here, at worker start, so a bad file
 * stops the worker at once with a message naming the setting.
 */
import type { RegisteredAction } from '../action.js';
import { createHttpDispatchers, readCaBundle } from './dispatchers.js';
import { NetworkPolicy, type HostResolver } from './network-policy.js';
import { httpChecksumAction } from './checksum.js';
import { httpRequestAction, type HttpTransport } from './request.js';
import { httpTestConnectionAction } from './test-connection.js';

export interface HttpBundle {
  readonly actions: readonly RegisteredAction[];
  /**
   * The bundle's policy-guarded pools, for the registry to hand to other HTTP-speaking bundles
   * (Jenkins, GitLab) so the host allowlist and blocked ranges apply to them too.
   */
  readonly transport: HttpTransport;
  close(): Promise<void>;
}

export interface HttpBundleOptions {
  /** `PAR_HTTP_HOST_ALLOWLIST`: host names, IP literals, globs (`*.corp.internal`); empty = all hosts. */
  readonly hostAllowlist?: readonly string[] | undefined;
  /** `PAR_HTTP_ALLOW_METADATA_ADDRESSES`: let requests reach link-local and cloud metadata ranges. */
  readonly allowMetadataAddresses?: boolean | undefined;
  /** `PAR_HTTP_DENY_LOOPBACK`: refuse 127.0.0.0/8 and ::1 (and their IPv6-wrapped forms) too. */
  readonly denyLoopback?: boolean | undefined;
  /** `PAR_HTTP_CA_BUNDLE_FILE`: PEM file of extra trusted CAs; relative to `configDir`. */
  readonly caBundleFile?: string | undefined;
  readonly configDir?: string | undefined;
  /** DNS resolution (default: the system resolver); tests point names at chosen addresses. */
  readonly resolver?: HostResolver | undefined;
  /** The ranges refused as metadata endpoints (default: METADATA_RANGES); tests pass a loopback stand-in. */
  readonly metadataAddresses?: readonly string[] | undefined;
}

export function createHttpBundle(options: HttpBundleOptions = {}): HttpBundle {
  const extraCas = options.caBundleFile ? readCaBundle(options.caBundleFile, options.configDir ?? '.') : [];
  const policy = new NetworkPolicy({
    hostAllowlist: options.hostAllowlist,
    allowMetadataAddresses: options.allowMetadataAddresses,
    denyLoopback: options.denyLoopback,
    metadataAddresses: options.metadataAddresses,
    resolver: options.resolver,
  });
  const transport = createHttpDispatchers(policy, extraCas);
  return {
    actions: [httpRequestAction(transport), httpTestConnectionAction(transport), httpChecksumAction(transport)],
    transport,
    close: () => transport.close(),
  };
}
