/**
 * Where the runner may open HTTP connections. Two rules, both enforced when a socket is about to
 * be opened (so every redirect hop and every new pooled connection is checked):
 *
 *  - the host allowlist (`PAR_HTTP_HOST_ALLOWLIST`): exact names, IP literals and globs such as
 *    `*.corp.internal`, `db-[0-9].{eu,us}.corp` (host-glob.ts); empty admits every host;
 *  - cloud metadata addresses are refused AFTER DNS resolution, so a harmless-looking name that
 *    resolves to 169.254.169.254 is refused too, before any packet is sent to it.
 *
 * The resolver is injectable so tests can point a name at a blocked address without DNS.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { ParError } from '../../errors/par-error.js';
import { compileHostGlob } from './host-glob.js';

/**
 * Instance metadata endpoints: they hand out cloud credentials to whoever asks from the host, so
 * a runner that proxies requests must not reach them by default.
 */
export const METADATA_ADDRESSES: readonly string[] = Object.freeze([
  '169.254.169.254', // AWS, GCP, Azure, OCI, DigitalOcean, OpenStack
  'fd00:ec2::254', // AWS IMDS over IPv6
  '169.254.170.2', // AWS ECS task metadata and credentials
  '100.100.100.200', // Alibaba Cloud
]);

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to every address it has (like `dns.lookup(name, {all: true})`). */
export type HostResolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

export const systemResolver: HostResolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

export interface NetworkPolicyOptions {
  /** Host names, IP literals and globs (`*` matches any run of characters, dots included). Empty: all hosts. */
  readonly hostAllowlist?: readonly string[] | undefined;
  readonly allowMetadataAddresses?: boolean | undefined;
  /** The addresses treated as metadata endpoints (default METADATA_ADDRESSES). */
  readonly metadataAddresses?: readonly string[] | undefined;
  readonly resolver?: HostResolver | undefined;
}

function normaliseHost(host: string): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return bare.toLowerCase().replace(/\.$/, '');
}

function hostMatcher(glob: string): { test(host: string): boolean } {
  const compiled = compileHostGlob(normaliseHost(glob));
  if (!compiled.ok) throw new ParError('PAR_ERR_CONFIG_INVALID', `PAR_HTTP_HOST_ALLOWLIST: ${compiled.problem}`);
  return compiled;
}

export class NetworkPolicy {
  private readonly allow: ReadonlyArray<{ test(host: string): boolean }>;
  private readonly blocked: BlockList | undefined;
  readonly resolver: HostResolver;

  constructor(options: NetworkPolicyOptions = {}) {
    this.allow = (options.hostAllowlist ?? []).map(hostMatcher);
    this.resolver = options.resolver ?? systemResolver;
    if (options.allowMetadataAddresses) {
      this.blocked = undefined;
    } else {
      this.blocked = new BlockList();
      for (const address of options.metadataAddresses ?? METADATA_ADDRESSES) {
        this.blocked.addAddress(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
      }
    }
  }

  /** The refusal for a host name (or IP literal) not in the allowlist; undefined when allowed. */
  checkHost(host: string): ParError | undefined {
    if (this.allow.length === 0) return undefined;
    const name = normaliseHost(host);
    return this.allow.some((re) => re.test(name)) ? undefined : new ParError('PAR_ERR_HTTP_HOST_NOT_ALLOWED', name);
  }

  /** The refusal for a resolved address; IPv4-mapped IPv6 forms match their IPv4 entries. */
  checkAddress(host: string, address: string): ParError | undefined {
    if (!this.blocked) return undefined;
    const bare = normaliseHost(address);
    const family = isIP(bare);
    if (family === 0) return undefined;
    return this.blocked.check(bare, family === 6 ? 'ipv6' : 'ipv4')
      ? new ParError('PAR_ERR_HTTP_ADDRESS_BLOCKED', `${normaliseHost(host)} resolves to ${bare}`)
      : undefined;
  }

  /** Resolves a host and refuses it when ANY of its addresses is blocked (no silent fallback). */
  async resolve(host: string): Promise<readonly ResolvedAddress[]> {
    const name = normaliseHost(host);
    const literal = isIP(name);
    const addresses = literal !== 0 ? [{ address: name, family: literal as 4 | 6 }] : await this.resolver(name);
    if (addresses.length === 0) throw Object.assign(new Error(`${name}: no address`), { code: 'ENOTFOUND' });
    for (const a of addresses) {
      const refusal = this.checkAddress(name, a.address);
      if (refusal) throw refusal;
    }
    return addresses;
  }

  /** A `net.connect` lookup that resolves through the policy, refusing blocked addresses. */
  lookupFunction(): LookupFunction {
    return (hostname, options, callback) => {
      this.resolve(hostname).then(
        (addresses) => {
          const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
          if (wanted.length === 0) {
            callback(Object.assign(new Error(`${hostname}: no IPv${options.family} address`), { code: 'ENOTFOUND' }), '', 0);
            return;
          }
          if (options.all) {
            (callback as unknown as (err: null, addresses: ResolvedAddress[]) => void)(null, [...wanted]);
            return;
          }
          const first = wanted[0]!;
          callback(null, first.address, first.family);
        },
        (error: unknown) => callback(error as NodeJS.ErrnoException, '', 0),
      );
    };
  }
}
