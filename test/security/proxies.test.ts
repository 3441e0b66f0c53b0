import { ALL_SCOPES } from '../../src/auth/api-key';
import { codes, gql, startTestServer } from '../helpers/server';
import type { TestServer } from '../helpers/server';
import { connect, request } from './door.helpers';

/**
 * Behind a reverse proxy: the client address comes from X-Forwarded-For through the trusted
 * hops only, a malformed chain is refused instead of being taken for the proxy's own address
 * (which an allowlist may contain), and an IPv6 caller is throttled by its /64.
 */

const VIEWER = '{ viewer { tenant { id } } }';

async function keyFor(server: TestServer, tenantId: string, ipAllowlist: string[]): Promise<string> {
  const { secret } = await server.auth.createApiKey(tenantId, { name: 'allowlisted', scopes: ALL_SCOPES, ipAllowlist });
  return secret as string;
}

describe('a malformed forwarded chain', () => {
  let server: TestServer;
  let tenantId: string;
  let apiKey: string;
  beforeAll(async () => {
    // One proxy in front (hop count), and it runs on this machine: its own address is 127.0.0.1.
    server = await startTestServer({ TRUST_PROXY: '1' });
    ({ tenantId, apiKey } = await server.newTenant());
  });
  afterAll(() => server.stop());

  it.each(['unknown', '127.0.0.1:8080', '203.0.113.7:443', '[::1]:443', 'garbage', '127.1', '0x7f000001', '198.51.100.9, unknown', '127.0.0.1 127.0.0.1'])(
    'X-Forwarded-For "%s" does not pass an allowlist that holds the proxy',
    async (forwardedFor) => {
      const proxyOnly = await keyFor(server, tenantId, ['127.0.0.0/8']);
      const [refused, normal] = await Promise.all([
        gql(server.url, VIEWER, {}, { 'api-key': proxyOnly, 'x-forwarded-for': forwardedFor }),
        gql(server.url, VIEWER, {}, { 'api-key': apiKey, 'x-forwarded-for': '203.0.113.50' }),
      ]);
      expect(refused.status).toBe(400);
      expect(codes(refused)).toEqual(['BAD_REQUEST']);
      expect(refused.body.errors?.[0]?.message).toMatch(/X-Forwarded-For/);
      expect(refused.body.data).toBeUndefined();
      expect(normal.status).toBe(200);
    },
  );

  it('passes the allowlist only with a well-formed address inside it', async () => {
    const allowlisted = await keyFor(server, tenantId, ['203.0.113.0/24']);
    expect((await gql(server.url, VIEWER, {}, { 'api-key': allowlisted, 'x-forwarded-for': '203.0.113.7' })).status).toBe(200);
    expect(codes(await gql(server.url, VIEWER, {}, { 'api-key': allowlisted, 'x-forwarded-for': '198.51.100.1' }))).toEqual(['FORBIDDEN']);
    // What the client wrote itself, left of the proxy's entry, is never read.
    expect(codes(await gql(server.url, VIEWER, {}, { 'api-key': allowlisted, 'x-forwarded-for': '203.0.113.7, 198.51.100.1' }))).toEqual(['FORBIDDEN']);
    expect((await gql(server.url, VIEWER, {}, { 'api-key': allowlisted, 'x-forwarded-for': 'unknown, 203.0.113.7' })).status).toBe(200);
    // Two headers are one chain, read from the right.
    const twoHeaders = (forwardedFor: string[]) =>
      request(server.origin, {
        path: '/graphql',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'api-key': allowlisted, 'x-forwarded-for': forwardedFor },
        body: JSON.stringify({ query: VIEWER }),
      });
    expect((await twoHeaders(['198.51.100.1', '203.0.113.7'])).status).toBe(200);
    expect((await twoHeaders(['203.0.113.7', '198.51.100.1'])).status).toBe(403);
    expect((await twoHeaders(['203.0.113.7', 'unknown'])).status).toBe(400);
  });
});

describe('TRUST_PROXY as a list of proxy ranges', () => {
  it('reads the header only from a trusted proxy, and refuses garbage from one', async () => {
    const server = await startTestServer({ TRUST_PROXY: 'loopback' });
    try {
      const { tenantId, apiKey } = await server.newTenant();
      const allowlisted = await keyFor(server, tenantId, ['203.0.113.0/24']);
      expect((await gql(server.url, VIEWER, {}, { 'api-key': allowlisted, 'x-forwarded-for': '203.0.113.7' })).status).toBe(200);
      // A chain of proxies on loopback: the first address that is not a proxy is the client.
      expect((await gql(server.url, VIEWER, {}, { 'api-key': allowlisted, 'x-forwarded-for': '203.0.113.7, 127.0.0.5' })).status).toBe(200);
      expect(codes(await gql(server.url, VIEWER, {}, { 'api-key': allowlisted, 'x-forwarded-for': 'unknown, 127.0.0.5' }))).toEqual(['BAD_REQUEST']);
      expect((await gql(server.url, VIEWER, {}, { 'api-key': apiKey })).status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it('does not cap the connections of a trusted proxy, which carries many clients', async () => {
    const server = await startTestServer({ TRUST_PROXY: 'loopback', HTTP_MAX_CONNECTIONS_PER_IP: '2' });
    try {
      const held = await Promise.all([1, 2, 3, 4].map(() => connect(server.origin)));
      expect((await request(server.origin)).status).toBe(200);
      expect(held.some((connection) => connection.isClosed())).toBe(false);
      for (const connection of held) connection.socket.destroy();
    } finally {
      await server.stop();
    }
  });
});

describe('the failed-authentication throttle and IPv6', () => {
  it('counts every address of one /64 together, and another /64 apart, while a valid key is served', async () => {
    const server = await startTestServer({ TRUST_PROXY: '1', AUTH_FAILURES_PER_MINUTE: '3' });
    try {
      const { apiKey } = await server.newTenant();
      const unknownKey = `${apiKey.slice(0, -4)}AAAA`;
      const fail = (address: string) => gql(server.url, VIEWER, {}, { 'api-key': unknownKey, 'x-forwarded-for': address });
      const rotated = [];
      for (const address of ['2001:db8:1:2::1', '2001:db8:1:2:a:b:c:d', '2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:db8:1:2::1234']) rotated.push(codes(await fail(address)));
      expect(rotated).toEqual([['UNAUTHENTICATED'], ['UNAUTHENTICATED'], ['UNAUTHENTICATED'], ['RATE_LIMITED']]);
      const throttled = await fail('2001:db8:1:2::9999');
      expect(throttled.status).toBe(429);
      expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(throttled.body.errors?.[0]?.extensions?.retryAfterMs).toEqual(expect.any(Number));
      // The next /64 is another subscriber.
      expect(codes(await fail('2001:db8:1:3::1'))).toEqual(['UNAUTHENTICATED']);
      // An anonymous request (no key at all) from the throttled /64 is refused the same way.
      expect(codes(await gql(server.url, VIEWER, {}, { 'x-forwarded-for': '2001:db8:1:2::77' }))).toEqual(['RATE_LIMITED']);
      expect((await gql(server.url, VIEWER, {}, { 'api-key': apiKey, 'x-forwarded-for': '2001:db8:9::1' })).status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});
