import type { IncomingMessage } from 'node:http';
import ipaddr from 'ipaddr.js';
import proxyaddr from 'proxy-addr';

/** An IPv4-mapped IPv6 address (::ffff:1.2.3.4) is the IPv4 address it carries. */
function normalize(address: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const bare = address.trim().replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (!ipaddr.isValid(bare)) return null;
  return ipaddr.process(bare);
}

/**
 * Whether `text` is exactly one IP address as proxies write it: four decimal parts, or IPv6 (an
 * IPv4-mapped one included). No port, no brackets, no "unknown", none of the short or hex forms
 * (`127.1`, `0x7f.0.0.1`) that parsers disagree on.
 */
export function isPlainAddress(text: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(text) || (text.includes(':') && ipaddr.IPv6.isValid(text));
}

/**
 * Which reverse proxies may set X-Forwarded-For: a number of hops in front of the server, or the
 * addresses and ranges of the proxies (CIDRs, or proxy-addr's names `loopback`, `linklocal`,
 * `uniquelocal`).
 */
export type TrustProxy = number | readonly string[];

export type TrustFunction = (address: string, hop: number) => boolean;

/**
 * proxy-addr's trust function for TRUST_PROXY: hop i (0 is the socket, 1 the rightmost
 * X-Forwarded-For entry, …) is a trusted proxy when it is within the hop count, or inside the
 * trusted ranges. Throws proxy-addr's TypeError on an invalid range.
 */
export function trustFunction(trust: TrustProxy): TrustFunction {
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  return proxyaddr.compile([...trust]);
}

/** The caller's address, or why the forwarded chain cannot tell it. */
export type ClientAddress = { readonly ok: true; readonly address: string } | { readonly ok: false; readonly reason: string };

/**
 * The client's address through proxy-addr: the socket's, or the X-Forwarded-For entry written by
 * the outermost trusted proxy. Entries further left were written by the client and never looked
 * at. Any address proxy-addr walks through (every trusted hop, and the one it stops at) must be a
 * plain address: a port, `unknown` or garbage there means the chain cannot be trusted, and the
 * caller is refused rather than taken for the proxy that wrote it (which may sit inside an
 * allowlist).
 */
export function clientAddress(socketAddress: string | undefined, forwardedFor: string | undefined, trust: TrustFunction): ClientAddress {
  if (socketAddress === undefined) return { ok: false, reason: 'the connection has no peer address' };
  // proxy-addr reads the address and the header from a request; this is all it looks at.
  const request = { headers: { 'x-forwarded-for': forwardedFor }, socket: { remoteAddress: socketAddress } } as unknown as IncomingMessage;
  const chain = proxyaddr.all(request, trust);
  for (const [hop, entry] of chain.entries()) {
    if (hop > 0 && !isPlainAddress(entry)) {
      return { ok: false, reason: `X-Forwarded-For entry "${entry.slice(0, 64)}" (hop ${hop}) is not a plain IP address` };
    }
  }
  const address = normalize(chain[chain.length - 1] ?? socketAddress);
  return address === null ? { ok: false, reason: 'the client address is not an IP address' } : { ok: true, address: address.toString() };
}

/** Whether the address is this machine's own (127.0.0.0/8, ::1, or ::ffff:127.x.x.x). */
export function isLoopback(ip: string | undefined): boolean {
  const address = normalize(ip ?? '');
  return address !== null && address.range() === 'loopback';
}

/**
 * The key that counts a caller's failures and connections: an IPv4 address itself, an IPv6
 * address by its /64 (one subscriber usually holds a whole /64 and can rotate through it).
 */
export function addressKey(ip: string): string {
  const address = normalize(ip);
  if (address === null) return 'unknown';
  if (address.kind() === 'ipv4') return address.toString();
  const parts = (address as ipaddr.IPv6).parts.slice(0, 4).map((part) => part.toString(16));
  return `${parts.join(':')}::/64`;
}

export class InvalidCidrError extends Error {
  override readonly name = 'InvalidCidrError';
}

/**
 * Validates and normalizes allowlist entries: IPv4 or IPv6 CIDRs ("10.0.0.0/8", "2001:db8::/32"),
 * or single addresses (taken as /32 or /128).
 */
export function parseAllowlist(entries: readonly string[]): string[] {
  return entries.map((entry) => {
    const text = entry.trim();
    try {
      if (text.includes('/')) {
        const [address, bits] = ipaddr.parseCIDR(text);
        return `${address.toString()}/${bits}`;
      }
      const address = ipaddr.parse(text);
      return `${address.toString()}/${address.kind() === 'ipv4' ? 32 : 128}`;
    } catch {
      throw new InvalidCidrError(`"${text.slice(0, 64)}" is not an IPv4 or IPv6 address or CIDR range (e.g. 203.0.113.0/24, 2001:db8::/32)`);
    }
  });
}

/** How many addresses {@link ipToHex} remembers, and the longest text it remembers one by. */
const MAX_REMEMBERED_ADDRESSES = 1024;
const MAX_REMEMBERED_ADDRESS_LENGTH = 64;

/** ipToHex's answers by address text, oldest first (a Map keeps insertion order). */
const hexByAddress = new Map<string, string>();

function addressToHex(ip: string): string {
  const address = normalize(ip);
  if (address === null) return 'x'.repeat(32); // sorts after every hex range: matches none
  const v6 = address.kind() === 'ipv4' ? (address as ipaddr.IPv4).toIPv4MappedAddress() : (address as ipaddr.IPv6);
  return Buffer.from(v6.toByteArray()).toString('hex');
}

/**
 * 32 hex digits of the address as IPv6 (IPv4 as ::ffff:a.b.c.d): ordered like the numbers.
 *
 * Called for every admitted request (the admit script's allowlist argument), nearly always with an
 * address it saw a moment ago, so the last {@link MAX_REMEMBERED_ADDRESSES} answers are remembered
 * (parsing one with ipaddr.js costs a few µs). Bounded: a caller spraying addresses only pushes the
 * oldest out (first in, first out), and costs what it cost before, the parse plus a map insert.
 */
export function ipToHex(ip: string): string {
  const known = hexByAddress.get(ip);
  if (known !== undefined) return known;
  const hex = addressToHex(ip);
  if (ip.length <= MAX_REMEMBERED_ADDRESS_LENGTH) {
    if (hexByAddress.size >= MAX_REMEMBERED_ADDRESSES) hexByAddress.delete(hexByAddress.keys().next().value as string);
    hexByAddress.set(ip, hex);
  }
  return hex;
}

/** How many addresses ipToHex remembers right now (at most {@link MAX_REMEMBERED_ADDRESSES}): for tests. */
export function rememberedAddressCount(): number {
  return hexByAddress.size;
}

/**
 * The allowlist as "first-last" hex ranges (see ipToHex), so that the admit script can check an
 * address with string comparisons, in the same round trip that authenticates the key.
 */
export function allowlistRanges(allowlist: readonly string[]): string {
  return allowlist
    .map((entry) => {
      const [range, bits] = ipaddr.parseCIDR(entry);
      const v6 = range.kind() === 'ipv4' ? (range as ipaddr.IPv4).toIPv4MappedAddress() : (range as ipaddr.IPv6);
      const prefix = range.kind() === 'ipv4' ? bits + 96 : bits;
      const bytes = v6.toByteArray();
      const first = Buffer.alloc(16);
      const last = Buffer.alloc(16);
      for (let i = 0; i < 16; i++) {
        const keep = Math.max(0, Math.min(8, prefix - i * 8));
        const mask = keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
        first[i] = (bytes[i] ?? 0) & mask;
        last[i] = ((bytes[i] ?? 0) & mask) | (~mask & 0xff);
      }
      return `${first.toString('hex')}-${last.toString('hex')}`;
    })
    .join(',');
}
