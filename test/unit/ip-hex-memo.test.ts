import { ipToHex, rememberedAddressCount } from '../../src/auth/ip';

describe('ipToHex remembers recent addresses, boundedly', () => {
  it('answers the same for an address whether it is remembered, pushed out, or never kept', () => {
    const first = ['127.0.0.1', '::ffff:10.1.2.3', '2001:db8::1', 'not an address', ` ${'1'.repeat(100)} `].map((ip) => ipToHex(ip));
    expect(first.slice(0, 4)).toEqual(['00000000000000000000ffff7f000001', '00000000000000000000ffff0a010203', '20010db8000000000000000000000001', 'x'.repeat(32)]);
    // Spray 5,000 distinct addresses: the memo stays at its bound and the first ones are pushed out.
    for (let i = 0; i < 5000; i += 1) ipToHex(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    expect(rememberedAddressCount()).toBe(1024);
    expect(['127.0.0.1', '::ffff:10.1.2.3', '2001:db8::1', 'not an address', ` ${'1'.repeat(100)} `].map((ip) => ipToHex(ip))).toEqual(first);
    expect(ipToHex('10.0.19.135')).toBe('00000000000000000000ffff0a001387');
    expect(rememberedAddressCount()).toBe(1024);
  });
});
