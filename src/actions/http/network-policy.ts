/**
 * Where the runner may open HTTP connections. Three rules, all enforced when a socket is about to
 * be opened (so every redirect hop and every new pooled connection is checked):
 *
 *  - the host allowlist (`PAR_HTTP_HOST_ALLOWLIST`): exact names, IP literals and globs such as
 *    `*.corp.internal`, `db-[0-9].{eu,us}.corp` (host-glob.ts); empty admits every host;
 *  - blocked address RANGES, decided AFTER DNS resolution on bytes (ip-address.ts), so a
 *    harmless-looking name that resolves to 169.254.169.254, or an IPv6 address that wraps it
 *    (`::ffff:a9fe:a9fe`, `64:ff9b::a9fe:a9fe`, `2002:a9fe:a9fe::`, Teredo), is refused before any
 *    packet is sent to it. Link-local and cloud credential endpoints are blocked unless
 *    `PAR_HTTP_ALLOW_METADATA_ADDRESSES`; "this network" (0.0.0.0/8, ::) always; loopback only
 *    with `PAR_HTTP_DENY_LOOPBACK`. Private ranges stay reachable: reaching them is the job;
 *  - cloud metadata host names (metadata.google.internal) are refused before DNS as well.
 *
 * `decideAddress` is the one decision function; the resolver is injectable so tests can point a
 * name at a blocked address without DNS.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { type LookupFunction } from 'node:net';
import { ParError } from '../../errors/par-error.js';
import { compileHostGlob } from './host-glob.js';
import { embeddedIpv4, formatIp, inRange, parseIp, parseRange, type IpAddress, type IpRange } from './ip-address.js';

/** Why a range is blocked; `metadata` lifts with allowMetadataAddresses, `loopback` applies with denyLoopback. */
export type RangeKind = 'metadata' | 'unspecified' | 'loopback';

export interface BlockedRange {
  readonly range: string;
  readonly kind: RangeKind;
  readonly label: string;
}

/**
 * Link-local ranges and cloud credential endpoints: they hand out cloud credentials to whoever
 * asks from the host, so a runner that proxies requests must not reach them by default.
 * fd00:ec2::/32 rather than a /64: every AWS endpoint in it (IMDS ::254, EKS pod identity ::23,
 * DNS ::253, NTP ::123) is in the /64 today, but the /32 also covers any endpoint AWS adds there,
 * and a private network using fd00:ec2::/32 as its ULA prefix is practically nonexistent (ULA
 * prefixes are random; AWS owns this one by convention).
 */
export const METADATA_RANGES: readonly BlockedRange[] = Object.freeze([
  {
    range: '169.254.0.0/16',
    kind: 'metadata',
    label: 'link-local; AWS/GCP/Azure/OCI IMDS 169.254.169.254, ECS 169.254.170.2, EKS 169.254.170.23, Tencent 169.254.0.23',
  },
  { range: 'fe80::/10', kind: 'metadata', label: 'IPv6 link-local' },
  { range: 'fd00:ec2::/32', kind: 'metadata', label: 'AWS IPv6 IMDS fd00:ec2::254, EKS pod identity fd00:ec2::23' },
  { range: '168.63.129.16/32', kind: 'metadata', label: 'Azure WireServer' },
  { range: '100.100.100.200/32', kind: 'metadata', label: 'Alibaba Cloud metadata' },
  { range: '192.0.0.192/32', kind: 'metadata', label: 'Oracle Cloud metadata' },
] satisfies BlockedRange[]);

/** Never a real target: connecting to 0.0.0.0 or :: reaches the runner's own host on Linux. */
export const UNSPECIFIED_RANGES: readonly BlockedRange[] = Object.freeze([
  { range: '0.0.0.0/8', kind: 'unspecified', label: 'this network 0.0.0.0/8' },
  { range: '::/128', kind: 'unspecified', label: 'IPv6 unspecified' },
] satisfies BlockedRange[]);

/** Blocked only with PAR_HTTP_DENY_LOOPBACK. */
export const LOOPBACK_RANGES: readonly BlockedRange[] = Object.freeze([
  { range: '127.0.0.0/8', kind: 'loopback', label: 'loopback, PAR_HTTP_DENY_LOOPBACK' },
  { range: '::1/128', kind: 'loopback', label: 'IPv6 loopback, PAR_HTTP_DENY_LOOPBACK' },
] satisfies BlockedRange[]);

/** Names that resolve to a metadata endpoint inside a cloud; refused before DNS (the ranges catch the rest). */
export const METADATA_HOST_NAMES: readonly string[] = Object.freeze(['metadata.google.internal']);

export interface AddressRules {
  readonly allowMetadataAddresses?: boolean | undefined;
  readonly denyLoopback?: boolean | undefined;
  /** Replaces METADATA_RANGES (CIDRs or addresses); tests use a loopback address as a stand-in. */
  readonly metadataRanges?: readonly string[] | undefined;
}

export interface AddressDecision {
  /** The canonical form of the address as given. */
  readonly address: string;
  /** The range that matched, e.g. `169.254.0.0/16`. */
  readonly range: string;
  readonly kind: RangeKind;
  readonly label: string;
  /** How the matching IPv4 address was wrapped (`nat64`, `6to4`...), when it was. */
  readonly via?: string | undefined;
  readonly embedded?: string | undefined;
}

interface CompiledRange extends BlockedRange {
  readonly compiled: IpRange;
}

export function compileRules(rules: AddressRules = {}): readonly CompiledRange[] {
  const metadata: BlockedRange[] = rules.metadataRanges
    ? rules.metadataRanges.map((range) => ({ range, kind: 'metadata', label: 'configured metadata range' }))
    : [...METADATA_RANGES];
  const active = [...UNSPECIFIED_RANGES, ...(rules.allowMetadataAddresses ? [] : metadata), ...(rules.denyLoopback ? LOOPBACK_RANGES : [])];
  return active.map((r) => ({ ...r, compiled: parseRange(r.range) }));
}

function match(ip: IpAddress, ranges: readonly CompiledRange[]): CompiledRange | undefined {
  return ranges.find((r) => inRange(ip, r.compiled));
}

/**
 * THE decision: is this address (any IPv4 or IPv6 spelling) blocked? The address itself is
 * checked, then every IPv4 address it wraps. Undefined when allowed or when `text` is not an IP.
 */
export function decideAddress(text: string, ranges: readonly CompiledRange[]): AddressDecision | undefined {
  const ip = parseIp(text);
  if (!ip) return undefined;
  const address = formatIp(ip);
  const direct = match(ip, ranges);
  if (direct) return { address, range: direct.range, kind: direct.kind, label: direct.label };
  for (const inner of embeddedIpv4(ip)) {
    // 0.0.0.0/8 inside NAT64, 6to4 or Teredo routes nowhere (and alternative NAT64 layouts are
    // often zero): only the forms the local stack itself unwraps count for it.
    const local = inner.via === 'ipv4-mapped' || inner.via === 'ipv4-translated';
    const hit = match(inner.address, local ? ranges : ranges.filter((r) => r.kind !== 'unspecified'));
    if (hit) return { address, range: hit.range, kind: hit.kind, label: hit.label, via: inner.via, embedded: formatIp(inner.address) };
  }
  return undefined;
}

function describeDecision(d: AddressDecision): string {
  const wrapped = d.via ? ` (${d.via} ${d.embedded})` : '';
  return `${d.address}${wrapped}, blocked: in ${d.range} (${d.label})`;
}

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** Resolves a host name to every address it has (like `dns.lookup(name, {all: true})`). */
export type HostResolver = (hostname: string) => Promise<readonly ResolvedAddress[]>;

export const systemResolver: HostResolver = async (hostname) =>
  (await dnsLookup(hostname, { all: true, verbatim: true })).map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));

export interface NetworkPolicyOptions {
  /** Host names, IP literals and globs (host-glob.ts: `*` matches dots too, `?`, `[0-9]`, `{a,b}`). Empty: all hosts. */
  readonly hostAllowlist?: readonly string[] | undefined;
  /** `PAR_HTTP_ALLOW_METADATA_ADDRESSES`: lift the link-local / cloud metadata block. */
  readonly allowMetadataAddresses?: boolean | undefined;
  /** `PAR_HTTP_DENY_LOOPBACK`: block 127.0.0.0/8 and ::1 too (and their wrapped forms). */
  readonly denyLoopback?: boolean | undefined;
  /** Replaces METADATA_RANGES (CIDRs or addresses); tests use a loopback address as a stand-in. */
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
  private readonly ranges: ReturnType<typeof compileRules>;
  private readonly blockMetadataNames: boolean;
  readonly resolver: HostResolver;

  constructor(options: NetworkPolicyOptions = {}) {
    this.allow = (options.hostAllowlist ?? []).map(hostMatcher);
    this.resolver = options.resolver ?? systemResolver;
    this.ranges = compileRules({
      allowMetadataAddresses: options.allowMetadataAddresses,
      denyLoopback: options.denyLoopback,
      metadataRanges: options.metadataAddresses,
    });
    this.blockMetadataNames = !options.allowMetadataAddresses;
  }

  /**
   * The refusal for a host name (or IP literal) before any DNS: not in the allowlist, or a cloud
   * metadata name. Undefined when allowed.
   */
  checkHost(host: string): ParError | undefined {
    const name = normaliseHost(host);
    if (this.blockMetadataNames && METADATA_HOST_NAMES.includes(name)) {
      return new ParError('PAR_ERR_HTTP_ADDRESS_BLOCKED', `${name} is a cloud metadata host name`);
    }
    if (this.allow.length === 0) return undefined;
    return this.allow.some((re) => re.test(name)) ? undefined : new ParError('PAR_ERR_HTTP_HOST_NOT_ALLOWED', name);
  }

  /** The decision for one address in any spelling (see decideAddress); undefined when allowed. */
  decide(address: string): AddressDecision | undefined {
    return decideAddress(address, this.ranges);
  }

  /** The refusal for a resolved address or an IP literal host; undefined when allowed or not an IP. */
  checkAddress(host: string, address: string): ParError | undefined {
    const decision = this.decide(address);
    if (!decision) return undefined;
    const name = normaliseHost(host);
    const subject = parseIp(name) ? describeDecision(decision) : `${name} resolves to ${describeDecision(decision)}`;
    return new ParError('PAR_ERR_HTTP_ADDRESS_BLOCKED', subject);
  }

  /** Resolves a host and refuses it when ANY of its addresses is blocked (no silent fallback). */
  async resolve(host: string): Promise<readonly ResolvedAddress[]> {
    const name = normaliseHost(host);
    const literal = parseIp(name);
    const addresses: readonly ResolvedAddress[] = literal
      ? [{ address: formatIp(literal), family: literal.family }]
      : await this.resolver(name);
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
          const [first] = wanted;
          if (first === undefined) {
            callback(Object.assign(new Error(`${hostname}: no IPv${options.family} address`), { code: 'ENOTFOUND' }), '', 0);
            return;
          }
          if (options.all) {
            (callback as unknown as (err: null, addresses: ResolvedAddress[]) => void)(null, [...wanted]);
            return;
          }
          callback(null, first.address, first.family);
        },
        (error: unknown) => callback(error as NodeJS.ErrnoException, '', 0),
      );
    };
  }
}
