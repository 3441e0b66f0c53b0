import ipaddr from 'ipaddr.js';

/** An IPv4-mapped IPv6 address (::ffff:1.2.3.4) is the IPv4 address it carries. */
function normalize(address: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const bare = address.trim().replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (!ipaddr.isValid(bare)) return null;
  return ipaddr.process(bare);
}

/**
 * The client's address: the socket's, or, behind `trustProxy` reverse proxies, the entry of
 * X-Forwarded-For that the outermost trusted proxy saw. Entries further left were written by the
 * client itself and are never trusted.
 */
export function clientIp(socketAddress: string | undefined, forwardedFor: string | undefined, trustProxy: number): string {
  const chain = [...(forwardedFor ?? '').split(',').map((entry) => entry.trim()).filter((entry) => entry !== ''), socketAddress ?? ''];
  const index = Math.max(0, chain.length - 1 - trustProxy);
  const candidate = chain[index] ?? '';
  return normalize(candidate)?.toString() ?? normalize(socketAddress ?? '')?.toString() ?? 'unknown';
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

/** 32 hex digits of the address as IPv6 (IPv4 as ::ffff:a.b.c.d): ordered like the numbers. */
export function ipToHex(ip: string): string {
  const address = normalize(ip);
  if (address === null) return 'x'.repeat(32); // sorts after every hex range: matches none
  const v6 = address.kind() === 'ipv4' ? (address as ipaddr.IPv4).toIPv4MappedAddress() : (address as ipaddr.IPv6);
  return Buffer.from(v6.toByteArray()).toString('hex');
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
