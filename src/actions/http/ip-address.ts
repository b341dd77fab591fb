/**
 * IP address literals as bytes, for the network policy. The policy decides on bytes, not on
 * strings, so every spelling of an address meets the same rule:
 *
 *  - IPv4 in the forms the WHATWG URL parser (and inet_aton) accept: dotted quad, fewer parts
 *    (`127.1`), decimal (`2852039166`), octal (`0251.0376.0251.0376`) and hex (`0xa9fea9fe`) parts;
 *  - IPv6 in every textual form: full, compressed (`::`), a dotted IPv4 tail (`::ffff:1.2.3.4`),
 *    upper or lower case, in brackets, with a zone id (`fe80::1%eth0`).
 *
 * `embeddedIpv4` lists the IPv4 addresses an IPv6 address stands for (mapped, compatible,
 * translated, NAT64, 6to4, Teredo): a packet to such an address may end up at that IPv4 address,
 * so the policy decides on those too. No I/O here.
 */

export type IpAddress = { readonly family: 4; readonly bytes: Uint8Array } | { readonly family: 6; readonly bytes: Uint8Array };

/** One IPv4 part as WHATWG parses it: `0x..` hex, `0..` octal, else decimal. */
function parseIpv4Part(part: string): number | undefined {
  let digits = part;
  let radix = 10;
  if (/^0x/i.test(part)) {
    digits = part.slice(2);
    radix = 16;
    if (digits === '') return 0;
  } else if (part.length > 1 && part.startsWith('0')) {
    digits = part.slice(1);
    radix = 8;
  }
  const valid = radix === 16 ? /^[0-9a-f]+$/i : radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!valid.test(digits)) return undefined;
  // Long runs of digits: anything beyond 2^32 is invalid anyway, and parseInt stays exact up to 2^53.
  if (digits.length > 32) return undefined;
  return parseInt(digits, radix);
}

/** IPv4 the way the WHATWG URL host parser reads it (1 to 4 parts, the last one fills the rest). */
export function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.at(-1) === '' && parts.length > 1) parts.pop();
  if (parts.length === 0 || parts.length > 4 || parts.some((p) => p === '')) return undefined;
  const numbers: number[] = [];
  for (const part of parts) {
    const n = parseIpv4Part(part);
    if (n === undefined) return undefined;
    numbers.push(n);
  }
  const last = numbers.pop();
  if (last === undefined) throw new Error('internal: an IPv4 literal with no parts');
  if (numbers.some((n) => n > 255) || last >= 256 ** (4 - numbers.length)) return undefined;
  let value = last;
  numbers.forEach((n, i) => {
    value += n * 256 ** (3 - i);
  });
  return Uint8Array.of(Math.floor(value / 2 ** 24) % 256, Math.floor(value / 2 ** 16) % 256, Math.floor(value / 2 ** 8) % 256, value % 256);
}

/** A strict dotted quad (only in the tail of an IPv6 address): four decimal parts 0-255, as its two 16-bit groups. */
function parseDottedQuad(text: string): [number, number] | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^[0-9]{1,3}$/.test(p))) return undefined;
  const numbers = parts.map(Number);
  if (!numbers.every((n) => n <= 255)) return undefined;
  const value = numbers.reduce((acc, n) => acc * 256 + n, 0);
  return [Math.floor(value / 0x10000), value % 0x10000];
}

function parseGroups(text: string): number[] | undefined {
  if (text === '') return [];
  const groups = text.split(':');
  const out: number[] = [];
  for (const [i, g] of groups.entries()) {
    if (i === groups.length - 1 && g.includes('.')) {
      const quad = parseDottedQuad(g);
      if (!quad) return undefined;
      out.push(...quad);
    } else if (/^[0-9a-f]{1,4}$/i.test(g)) {
      out.push(parseInt(g, 16));
    } else {
      return undefined;
    }
  }
  return out;
}

/** IPv6 in any textual form (brackets and a zone id allowed); undefined when it is not one. */
export function parseIpv6(text: string): Uint8Array | undefined {
  let s = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const zone = s.indexOf('%');
  if (zone !== -1) {
    if (zone === s.length - 1) return undefined;
    s = s.slice(0, zone);
  }
  if (!s.includes(':')) return undefined;
  // split() always yields a first part, so `left`'s default is never used.
  const [left = '', right, ...more] = s.split('::');
  if (more.length > 0) return undefined;
  let groups: number[];
  if (right !== undefined) {
    // A dotted tail may only end the address, so only the right half may hold one.
    if (left.includes('.')) return undefined;
    const head = parseGroups(left);
    const tail = parseGroups(right);
    if (!head || !tail || head.length + tail.length > 7) return undefined;
    groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    const all = parseGroups(s);
    if (!all || all.length !== 8) return undefined;
    groups = all;
  }
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/** An IP literal in any of the spellings above; undefined for a host name. */
export function parseIp(text: string): IpAddress | undefined {
  const v6 = parseIpv6(text);
  if (v6) return { family: 6, bytes: v6 };
  const v4 = parseIpv4(text.toLowerCase());
  return v4 ? { family: 4, bytes: v4 } : undefined;
}

/** Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run compressed). */
export function formatIp(ip: IpAddress): string {
  if (ip.family === 4) return Array.from(ip.bytes).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => ((ip.bytes[2 * i] ?? 0) << 8) | (ip.bytes[2 * i + 1] ?? 0));
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length && j - i > 1) best = { start: i, length: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.start === -1) return hex.join(':');
  return `${hex.slice(0, best.start).join(':')}::${hex.slice(best.start + best.length).join(':')}`;
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.every((b, i) => bytes[i] === b);
}

function v4At(bytes: Uint8Array, offset: number): IpAddress {
  return { family: 4, bytes: bytes.slice(offset, offset + 4) };
}

/** RFC 6052 layout of an IPv4 address under a NAT64 prefix of `prefixBits` (bits 64-71 are skipped). */
function nat64Embedded(bytes: Uint8Array, prefixBits: 32 | 40 | 48 | 56 | 64 | 96): IpAddress {
  const positions = Array.from({ length: 4 }, (_, i) => {
    const p = prefixBits / 8 + i;
    return p >= 8 && prefixBits < 96 ? p + 1 : p;
  });
  return { family: 4, bytes: Uint8Array.from(positions.map((p) => bytes[p] ?? 0)) };
}

export interface EmbeddedIpv4 {
  /** Which wrapping: `ipv4-mapped`, `ipv4-compatible`, `nat64`, `6to4`, `teredo`, ... */
  readonly via: string;
  readonly address: IpAddress;
}

const ZERO_80 = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/** The IPv4 addresses an IPv6 address carries, by every wrapping that routes to them. */
export function embeddedIpv4(ip: IpAddress): EmbeddedIpv4[] {
  if (ip.family !== 6) return [];
  const b = ip.bytes;
  const out: EmbeddedIpv4[] = [];
  // ::ffff:a.b.c.d (mapped, RFC 4291)
  if (startsWith(b, [...ZERO_80, 0xff, 0xff])) out.push({ via: 'ipv4-mapped', address: v4At(b, 12) });
  // ::ffff:0:a.b.c.d (SIIT translated, RFC 2765)
  if (startsWith(b, [...ZERO_80.slice(0, 8), 0xff, 0xff, 0, 0])) out.push({ via: 'ipv4-translated', address: v4At(b, 12) });
  // ::a.b.c.d (compatible, deprecated); ::/104 (::, ::1 and friends) is not a wrapped address.
  if (startsWith(b, [...ZERO_80, 0, 0]) && b[12] !== 0) out.push({ via: 'ipv4-compatible', address: v4At(b, 12) });
  // 64:ff9b::/96 (well-known NAT64 prefix, RFC 6052)
  if (startsWith(b, [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0])) out.push({ via: 'nat64', address: v4At(b, 12) });
  // 64:ff9b:1::/48 (local-use NAT64, RFC 8215): the operator picks the prefix length, so every layout counts.
  if (startsWith(b, [0x00, 0x64, 0xff, 0x9b, 0x00, 0x01])) {
    for (const bits of [48, 56, 64, 96] as const) out.push({ via: `nat64-local/${bits}`, address: nat64Embedded(b, bits) });
  }
  // 2002:AABB:CCDD::/48 (6to4, RFC 3056): the IPv4 address is bits 16-48.
  if (startsWith(b, [0x20, 0x02])) out.push({ via: '6to4', address: v4At(b, 2) });
  // 2001:0::/32 (Teredo, RFC 4380): the client (where packets go) is bits 96-128, inverted; bits 32-64 are the relay server.
  if (startsWith(b, [0x20, 0x01, 0x00, 0x00])) {
    out.push({ via: 'teredo', address: { family: 4, bytes: b.slice(12, 16).map((x) => x ^ 0xff) } });
  }
  return out;
}

/** A CIDR range (`169.254.0.0/16`, `fd00:ec2::/32`) or a single address. */
export interface IpRange {
  readonly family: 4 | 6;
  readonly bytes: Uint8Array;
  readonly prefix: number;
  readonly text: string;
}

export function parseRange(text: string): IpRange {
  const [addr, bitsText] = text.split('/');
  const ip = parseIp(addr ?? '');
  if (!ip) throw new Error(`not an IP range: ${text}`);
  const max = ip.family === 4 ? 32 : 128;
  const prefix = bitsText === undefined ? max : Number(bitsText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) throw new Error(`not an IP range: ${text}`);
  return { family: ip.family, bytes: ip.bytes, prefix, text: bitsText === undefined ? formatIp(ip) : `${formatIp(ip)}/${prefix}` };
}

export function inRange(ip: IpAddress, range: IpRange): boolean {
  if (ip.family !== range.family) return false;
  const full = Math.floor(range.prefix / 8);
  for (let i = 0; i < full; i++) if (ip.bytes[i] !== range.bytes[i]) return false;
  const rest = range.prefix % 8;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((ip.bytes[full] ?? 0) & mask) === ((range.bytes[full] ?? 0) & mask);
}
