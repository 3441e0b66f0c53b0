import { addressKey, allowlistRanges, clientAddress, InvalidCidrError, ipToHex, isLoopback, isPlainAddress, parseAllowlist, trustFunction } from '../../src/auth/ip';
import type { TrustProxy } from '../../src/auth/ip';
import { createLogger, redactApiKeys } from '../../src/observability/logger';

const clientIp = (socket: string, forwardedFor: string | undefined, trust: TrustProxy): string => {
  const found = clientAddress(socket, forwardedFor, trustFunction(trust));
  return found.ok ? found.address : `refused: ${found.reason}`;
};

describe('client IP', () => {
  it('is the socket address unless proxies are trusted', () => {
    expect(clientIp('127.0.0.1', '203.0.113.7', 0)).toBe('127.0.0.1');
    expect(clientIp('::ffff:127.0.0.1', undefined, 0)).toBe('127.0.0.1');
    expect(clientIp('::1', undefined, 0)).toBe('::1');
    // Garbage in a header nobody trusts is never read.
    expect(clientIp('127.0.0.1', 'unknown, 1.2.3.4:80', 0)).toBe('127.0.0.1');
  });

  it('takes X-Forwarded-For only as far as TRUST_PROXY hops reach', () => {
    // client → proxy1 → proxy2 → us: proxy2 is the socket; it appended proxy1's view of the client.
    expect(clientIp('10.0.0.2', '198.51.100.9, 203.0.113.7', 1)).toBe('203.0.113.7');
    expect(clientIp('10.0.0.2', '198.51.100.9, 203.0.113.7', 2)).toBe('198.51.100.9');
    // More hops trusted than there are entries: the leftmost entry, never beyond.
    expect(clientIp('10.0.0.2', '203.0.113.7', 5)).toBe('203.0.113.7');
    expect(clientIp('10.0.0.2', '2001:db8::1', 1)).toBe('2001:db8::1');
    expect(clientIp('10.0.0.2', '::ffff:203.0.113.7', 1)).toBe('203.0.113.7');
    // Entries left of the client's were written by the client: not read, garbage or not.
    expect(clientIp('10.0.0.2', 'unknown, 203.0.113.7', 1)).toBe('203.0.113.7');
  });

  it('takes X-Forwarded-For through proxies named by address or range', () => {
    expect(clientIp('10.0.0.2', '198.51.100.9, 203.0.113.7', ['10.0.0.0/8'])).toBe('203.0.113.7');
    expect(clientIp('10.0.0.2', '198.51.100.9, 10.0.0.1', ['10.0.0.0/8'])).toBe('198.51.100.9');
    expect(clientIp('127.0.0.1', '203.0.113.7', ['loopback'])).toBe('203.0.113.7');
    // A socket outside the trusted ranges: its header is the client's own, never read.
    expect(clientIp('198.51.100.1', '10.0.0.1', ['10.0.0.0/8'])).toBe('198.51.100.1');
  });

  it('refuses a chain with garbage where it would be read, instead of falling back to the proxy', () => {
    for (const bad of ['not-an-ip', 'unknown', '203.0.113.7:443', '[2001:db8::1]:443', '127.1', '0x7f.0.0.1', '203.0.113.7 203.0.113.8', '_hidden']) {
      expect(clientIp('10.0.0.2', bad, 1)).toMatch(/^refused: /);
      expect(clientIp('10.0.0.2', `198.51.100.9, ${bad}`, 2)).toMatch(/^refused: /);
      expect(clientIp('10.0.0.2', bad, ['10.0.0.0/8'])).toMatch(/^refused: /);
    }
  });

  it('knows plain addresses and loopback', () => {
    expect(['192.0.2.1', '::1', '2001:db8::1', '::ffff:192.0.2.1'].every(isPlainAddress)).toBe(true);
    expect(['192.0.2.1:80', 'unknown', '', '1.2.3', '[::1]'].some(isPlainAddress)).toBe(false);
    expect(['127.0.0.1', '::1', '::ffff:127.0.0.1', '127.8.9.10'].every(isLoopback)).toBe(true);
    expect(['10.0.0.1', '::2', 'unknown', undefined].some(isLoopback)).toBe(false);
  });

  it('counts an IPv4 address alone and an IPv6 address by its /64', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('2001:db8:1:2::a')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:3::a')).toBe('2001:db8:1:3::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
  });
});

describe('IP allowlists', () => {
  it('parse IPv4 and IPv6 CIDRs and single addresses, refusing anything else', () => {
    expect(parseAllowlist(['10.0.0.0/8', '2001:db8::/32', '192.0.2.1', '::1'])).toEqual(['10.0.0.0/8', '2001:db8::/32', '192.0.2.1/32', '::1/128']);
    for (const bad of ['10.0.0.0/33', '300.1.1.1', 'localhost', '2001:db8::/129', '']) expect(() => parseAllowlist([bad])).toThrow(InvalidCidrError);
  });

});

describe('log redaction', () => {
  const key = `oq_abcd1234_efgh5678_${'S'.repeat(40)}x-_`;

  it('keeps the public prefix of a key and drops its secret, wherever it appears', () => {
    expect(redactApiKeys(`got ${key} here`)).toBe('got oq_abcd1234_efgh5678_[redacted] here');
    const lines: string[] = [];
    const logger = createLogger({ level: 'debug', write: (line) => void lines.push(line) });
    logger.error('boom', { header: key, error: new Error(`bad key ${key}`) });
    expect(lines.join('')).not.toContain('S'.repeat(40));
    expect(lines.join('')).toContain('oq_abcd1234_efgh5678_[redacted]');
  });
});

describe('allowlist ranges for the admit script', () => {
  const inRanges = (ip: string, ranges: string) =>
    ranges.split(',').some((range) => {
      const [first = '', last = ''] = range.split('-');
      const hex = ipToHex(ip);
      return hex >= first && hex <= last;
    });

  it('contain exactly the addresses of each entry, IPv4 (mapped too) and IPv6 alike', () => {
    const ranges = allowlistRanges(parseAllowlist(['10.0.0.0/8', '192.0.2.1', '2001:db8::/32', '::1']));
    const expected: [string, boolean][] = [
      ['10.0.0.0', true], ['10.255.255.255', true], ['10.1.2.3', true], ['11.0.0.0', false], ['9.255.255.255', false],
      ['192.0.2.1', true], ['192.0.2.2', false],
      ['2001:db8::', true], ['2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', true], ['2001:db8:1::5', true], ['2001:db9::', false],
      ['::1', true], ['::2', false], ['::ffff:10.1.1.1', true], ['8.8.8.8', false],
    ];
    for (const [ip, inside] of expected) expect([ip, inRanges(ip, ranges)]).toEqual([ip, inside]);
    expect(inRanges('203.0.113.9', allowlistRanges(['0.0.0.0/0']))).toBe(true);
    expect(inRanges('2001:db8::1', allowlistRanges(['0.0.0.0/0']))).toBe(false);
    expect(inRanges('unknown', ranges)).toBe(false);
  });
});
