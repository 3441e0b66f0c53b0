import type { Redis } from 'ioredis';
import { codes, connectTestRedis, gql, startTestServer } from '../helpers/server';
import type { GraphQLResponse, TestServer } from '../helpers/server';

/**
 * Refusals are not free: a query refused for its shape, its syntax or its validity still takes a
 * request from its key's rate limit, and an anonymous caller's refusals count in its address's
 * failure throttle; once throttled, it cannot make the server look at its queries at all.
 */

const VIEWER = '{ viewer { tenant { id } } }';
/** Nested 15 levels deep, over the depth limit (12): refused by the analysis, before Apollo. */
const TOO_DEEP = `{ accounts { edges { node { ${'transfers { edges { node { fromAccount { '.repeat(3)}id${' } } } }'.repeat(3)} } } } }`;
const UNPARSABLE = '{ viewer { tenant { id ';
const INVALID = '{ viewer { noSuchField } }';

function remaining(response: GraphQLResponse): number {
  const match = /r=(\d+)/.exec(response.headers.get('ratelimit') ?? '');
  if (!match) throw new Error(`no RateLimit header: ${JSON.stringify(response.body)}`);
  return Number(match[1]);
}

/** Commands clients send to Redis that name one of `tags` (MONITOR; what scripts run inside is left out). */
async function watch(tags: string[]): Promise<{ take(): Promise<string[]>; stop(): void }> {
  const client = (await connectTestRedis()) as Redis;
  const monitor = await client.monitor();
  let seen: string[] = [];
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source !== 'lua' && args.some((arg) => tags.some((tag) => arg.includes(tag)))) seen.push(String(args[0]).toLowerCase());
  });
  return {
    async take() {
      // A marker naming a tag proves everything sent before it has arrived.
      const marker = `${tags[0]}:marker:${Math.random()}`;
      const probe = await connectTestRedis();
      await probe.get(marker);
      probe.disconnect();
      for (let i = 0; i < 200 && !seen.includes('get'); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      const commands = seen.filter((command, index) => !(command === 'get' && index === seen.lastIndexOf('get')));
      seen = [];
      return commands;
    },
    stop() {
      monitor.disconnect();
      client.disconnect();
    },
  };
}

describe('an authenticated key', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '8' });
  });
  afterAll(() => server.stop());

  it('pays a request from its rate limit for each too-complex, unparsable or invalid query', async () => {
    const { apiKey } = await server.newTenant();
    const other = await server.newTenant();
    const started = Date.now();
    const before = await gql(server.url, VIEWER, {}, { 'api-key': apiKey });
    const refused: GraphQLResponse[] = [];
    for (const query of [TOO_DEEP, UNPARSABLE, INVALID, TOO_DEEP]) {
      const [response, normal] = await Promise.all([gql(server.url, query, {}, { 'api-key': apiKey }), gql(server.url, VIEWER, {}, { 'api-key': other.apiKey })]);
      expect(normal.status).toBe(200);
      refused.push(response);
    }
    expect(refused.map((response) => [response.status, codes(response)])).toEqual([
      [400, ['QUERY_TOO_COMPLEX']],
      [400, ['GRAPHQL_PARSE_FAILED']],
      [400, ['GRAPHQL_VALIDATION_FAILED']],
      [400, ['QUERY_TOO_COMPLEX']],
    ]);
    const after = await gql(server.url, VIEWER, {}, { 'api-key': apiKey });
    // One token per request, the refused ones included; at 1 per second, at most one came back per second.
    const refilled = Math.floor((Date.now() - started) / 1000);
    expect(remaining(before) - remaining(after)).toBeGreaterThanOrEqual(5 - refilled);
    expect(refused.map(remaining)).toEqual([...refused.map(remaining)].sort((a, b) => b - a));
  });

  it('is refused with 429 once refusals have spent its burst', async () => {
    const { apiKey } = await server.newTenant();
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await gql(server.url, TOO_DEEP, {}, { 'api-key': apiKey })).status);
    const valid = await gql(server.url, VIEWER, {}, { 'api-key': apiKey });
    // Too-complex answers win over the rate limit (order of checks), but they drained the bucket.
    expect(statuses.every((status) => status === 400)).toBe(true);
    expect([valid.status, codes(valid)]).toEqual([429, ['RATE_LIMITED']]);
    expect(Number(valid.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(valid.body.errors?.[0]?.extensions?.retryAfterMs).toEqual(expect.any(Number));
  });
});

describe('an anonymous caller', () => {
  it('counts each refused query in its address failure throttle, with or without a key', async () => {
    const server = await startTestServer({ TRUST_PROXY: '1', AUTH_FAILURES_PER_MINUTE: '4' });
    try {
      const { apiKey } = await server.newTenant();
      const unknownKey = `${apiKey.slice(0, -4)}AAAA`;
      const from = { 'x-forwarded-for': '198.51.100.20' };
      const answers: unknown[] = [];
      for (const [query, key] of [[TOO_DEEP, null], [UNPARSABLE, unknownKey], [INVALID, null], [TOO_DEEP, unknownKey], [VIEWER, 'oq_not_a_key']] as const) {
        const headers: Record<string, string> = key === null ? from : { ...from, 'api-key': key };
        const [response, normal] = await Promise.all([gql(server.url, query, {}, headers), gql(server.url, VIEWER, {}, { 'api-key': apiKey })]);
        expect(normal.status).toBe(200);
        answers.push([response.status, ...codes(response)]);
      }
      expect(answers).toEqual([
        [401, 'UNAUTHENTICATED'],
        [401, 'UNAUTHENTICATED'],
        [401, 'UNAUTHENTICATED'],
        [401, 'UNAUTHENTICATED'],
        [429, 'RATE_LIMITED'],
      ]);
      // Nothing of the schema leaks to it, whatever it sent.
      const refused = await gql(server.url, INVALID, {}, { ...from, 'api-key': unknownKey });
      expect(JSON.stringify(refused.body)).not.toMatch(/noSuchField|Did you mean/);
    } finally {
      await server.stop();
    }
  });

  it('once throttled, is refused before its query is looked at: no Redis call without a key, one lookup with one', async () => {
    const server = await startTestServer({ TRUST_PROXY: '1', AUTH_FAILURES_PER_MINUTE: '2' });
    const { tenantId, apiKey } = await server.newTenant();
    const address = '198.51.100.30';
    const watcher = await watch([`{ip:${address}}`, `{t:${tenantId}}`]);
    try {
      const unknownKey = `${apiKey.slice(0, -4)}AAAA`;
      const from = { 'x-forwarded-for': address };
      for (let i = 0; i < 3; i++) await gql(server.url, TOO_DEEP, {}, { ...from, 'api-key': unknownKey });
      await watcher.take();

      const anonymous = await gql(server.url, TOO_DEEP, {}, from);
      expect(codes(anonymous)).toEqual(['RATE_LIMITED']);
      expect(await watcher.take()).toEqual([]);

      const withUnknownKey = await gql(server.url, TOO_DEEP, {}, { ...from, 'api-key': unknownKey });
      expect(codes(withUnknownKey)).toEqual(['RATE_LIMITED']);
      // One authenticate-only call, no failure counted again, no charge.
      expect(await watcher.take()).toEqual(['evalsha']);

      // A valid key behind the same address (a shared NAT) is still served.
      const valid = await gql(server.url, VIEWER, {}, { ...from, 'api-key': apiKey });
      expect(valid.status).toBe(200);
    } finally {
      watcher.stop();
      await server.stop();
    }
  });
});
