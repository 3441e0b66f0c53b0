import { randomUUID } from 'node:crypto';
import { CreateApiKeyDocument } from '../generated/graphql';
import { commandNames, watchTenantCommands } from '../helpers/monitor';
import { buildLedgerSchema } from '../../src/graphql/schema';
import { LedgerStore } from '../../src/ledger/store';
import { introspectionWeights } from '@onceql/ratelimit';
import { tenantKeys } from '../../src/redis/keys';
import { codes, gql, startTestServer } from '../helpers/server';
import type { GraphQLResponse, TestServer } from '../helpers/server';

const CHEAP = '{ __typename }';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('request rate limit (GCRA in one Lua script, shared by every instance)', () => {
  it('admits rate x 5 s + burst of a 3x offered load over two instances, refuses the rest with 429, and leaves another tenant alone', async () => {
    const env = { RATE_LIMIT_PER_SECOND: '20', RATE_LIMIT_BURST: '10' };
    const one = await startTestServer(env);
    const two = await startTestServer(env);
    try {
      const busy = await one.newTenant('busy');
      const calm = await one.newTenant('calm');
      const busyResponses: Promise<GraphQLResponse>[] = [];
      const calmResponses: Promise<GraphQLResponse>[] = [];
      // Paced, not bursty: 60 requests a second for the busy tenant (3x its rate), alternating
      // instances, and 10 a second for the calm one (half of its own rate). Sending stops just
      // short of 5 s even if timers run late on a loaded machine, so the window never stretches.
      const start = Date.now();
      const sentAt: number[] = [];
      for (let i = 0; Date.now() - start < 4950; i++) {
        const due = start + (i * 1000) / 60;
        await sleep(Math.max(0, due - Date.now()));
        if (Date.now() - start >= 4950) break;
        sentAt.push(Date.now());
        busyResponses.push(gql(i % 2 === 0 ? one.url : two.url, CHEAP, {}, { 'api-key': busy.apiKey }));
        if (i % 6 === 0) calmResponses.push(gql(i % 4 === 0 ? one.url : two.url, CHEAP, {}, { 'api-key': calm.apiKey }));
      }
      const busyResults = await Promise.all(busyResponses);
      const calmResults = await Promise.all(calmResponses);

      expect(busyResults.length).toBeGreaterThanOrEqual(200); // at least 2x the rate was offered
      const admitted = busyResults.filter((response) => response.status === 200).length;
      const bound = 20 * 5 + 10;
      // On a machine loaded by other suites the sender can stall: a gap longer than the burst
      // refills (10 / 20 per second = 500 ms) offers nothing for the rest of it, so the lower bound
      // leaves out what such gaps could not have used.
      let stalledMs = 0;
      for (let i = 1; i < sentAt.length; i++) stalledMs += Math.max(0, (sentAt[i] as number) - (sentAt[i - 1] as number) - 500);
      expect(admitted).toBeGreaterThanOrEqual(Math.floor(0.95 * (bound - (20 * stalledMs) / 1000)));
      expect(admitted).toBeLessThanOrEqual(bound);
      for (const refused of busyResults.filter((response) => response.status !== 200)) {
        expect(refused.status).toBe(429);
        expect(codes(refused)).toEqual(['RATE_LIMITED']);
        expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(refused.body.errors?.[0]?.extensions?.retryAfterMs).toEqual(expect.any(Number));
        expect(refused.headers.get('ratelimit')).toMatch(/^"tenant";r=0;t=\d+$/);
        expect(refused.headers.get('ratelimit-policy')).toBe('"tenant";q=20;w=1');
      }
      expect(calmResults.map((response) => response.status)).toEqual(Array(calmResults.length).fill(200));
    } finally {
      await one.stop();
      await two.stop();
    }
  });

  it('gives a key with its own rateLimitPerSecond its own bucket', async () => {
    const server = await startTestServer({ RATE_LIMIT_PER_SECOND: '1000', RATE_LIMIT_BURST: '3' });
    try {
      const { apiKey: admin } = await server.newTenant();
      const created = await gql(server.url, CreateApiKeyDocument, { input: { name: 'slow', scopes: ['READ'], rateLimitPerSecond: 1 } }, { 'api-key': admin });
      const slow = created.body.data?.createApiKey?.secret as string;
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await gql(server.url, CHEAP, {}, { 'api-key': slow })).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const policy = (await gql(server.url, CHEAP, {}, { 'api-key': admin })).headers.get('ratelimit-policy');
      expect(policy).toBe('"tenant";q=1000;w=1');
      expect((await gql(server.url, CHEAP, {}, { 'api-key': slow })).headers.get('ratelimit-policy')).toBe('"tenant";q=1;w=1');
    } finally {
      await server.stop();
    }
  });

  it('puts RateLimit-Policy and RateLimit on every response', async () => {
    // A slow rate (one request back every 500 ms), so that a loaded machine cannot refill the
    // bucket between the two requests and hide the charge of the refused one.
    const server = await startTestServer({ RATE_LIMIT_PER_SECOND: '2', RATE_LIMIT_BURST: '20' });
    try {
      const { apiKey } = await server.newTenant();
      const first = await gql(server.url, CHEAP, {}, { 'api-key': apiKey });
      expect(first.headers.get('ratelimit-policy')).toBe('"tenant";q=2;w=1');
      expect(first.headers.get('ratelimit')).toBe('"tenant";r=19;t=1');
      const second = await gql(server.url, '{ nope }', {}, { 'api-key': apiKey });
      expect([second.status, second.headers.get('ratelimit')]).toEqual([400, '"tenant";r=18;t=1']);
    } finally {
      await server.stop();
    }
  });
});

describe('query limits, checked before execution', () => {
  let server: TestServer;
  let apiKey: string;
  beforeAll(async () => {
    server = await startTestServer();
    apiKey = (await server.newTenant()).apiKey;
  });
  afterAll(async () => {
    await server.stop();
  });

  it('refuses two nested connections of first: 1000, a 500-alias query and a 5,000-deep query with QUERY_TOO_COMPLEX, and keeps serving', async () => {
    const nested = '{ accounts(first: 1000) { edges { node { transfers(first: 1000) { edges { node { id } } } } } } }';
    const aliases = `{ ${Array.from({ length: 500 }, (_, i) => `a${i}: __typename`).join(' ')} }`;
    const deep = `{ ${'viewer { tenant { '.repeat(1)}${'a { '.repeat(5000)}id${' }'.repeat(5000)} } } }`;
    for (const query of [nested, aliases, deep]) {
      const response = await gql(server.url, query, {}, { 'api-key': apiKey });
      expect([response.status, codes(response), response.body.data]).toEqual([400, ['QUERY_TOO_COMPLEX'], undefined]);
    }
    expect((await gql(server.url, '{ accounts(first: 5) { edges { node { id } } } }', {}, { 'api-key': apiKey })).status).toBe(200);
  });

  it('refuses unauthenticated callers first, whatever their query', async () => {
    const response = await gql(server.url, '{ accounts(first: 1000) { edges { node { transfers(first: 1000) { edges { node { id } } } } } } }', {}, {});
    expect([response.status, codes(response)]).toEqual([401, ['UNAUTHENTICATED']]);
  });

  it('prices queries as DESIGN.md says and lets introspection through, at a price', async () => {
    const cost = async (query: string) => (await gql(server.url, query, {}, { 'api-key': apiKey })).body.extensions?.cost as { requestedQueryCost: number };
    expect((await cost('{ __typename }')).requestedQueryCost).toBe(0);
    expect((await cost('{ viewer { tenant { id name } } }')).requestedQueryCost).toBe(2);
    // 1 + 20 x (edges 1 + node 1) + pageInfo 1
    expect((await cost('{ accounts { edges { node { id } } pageInfo { hasNextPage } } }')).requestedQueryCost).toBe(42);
    expect((await cost('{ accounts(first: 2) { edges { node { transfers(first: 3) { edges { node { id } } } } } } }')).requestedQueryCost).toBe(1 + 2 * (1 + 1 + (1 + 3 * 2)));
    const mutation = await gql(server.url, `mutation { createAccount(input: {name: "x", currency: "EUR"}, idempotencyKey: "${randomUUID()}") { id } }`, {}, { 'api-key': apiKey });
    expect((mutation.body.extensions?.cost as { requestedQueryCost: number }).requestedQueryCost).toBe(10);
    const introspection = await gql(
      server.url,
      '{ __schema { types { name fields { name type { name kind ofType { name kind ofType { name kind ofType { name kind ofType { name } } } } } } } } }',
      {},
      { 'api-key': apiKey },
    );
    expect(introspection.status).toBe(200);
    // Not free: as many points as a full introspection of the schema returns objects.
    expect((introspection.body.extensions?.cost as { requestedQueryCost: number }).requestedQueryCost).toBe(introspectionWeights(buildLedgerSchema()).__schema);
  });
});

describe('query-cost budget', () => {
  it('reports extensions.cost on every response, falls with each query, refuses with 429 when short, and refills', async () => {
    const server = await startTestServer({ QUERY_COST_BUDGET: '100', QUERY_COST_MAX: '100', QUERY_COST_RESTORE_PER_SECOND: '10' });
    try {
      const { tenantId, apiKey } = await server.newTenant();
      // 20 accounts, so the query uses all it is charged and nothing is refunded.
      const ledger = new LedgerStore(server.redis, tenantId);
      for (let i = 0; i < 20; i++) await ledger.createAccount({ name: `a${i}`, currency: 'EUR', allowNegativeBalance: false });
      const query = '{ accounts(first: 20) { edges { node { id } } } }'; // 41 points
      const available = (response: GraphQLResponse) =>
        (response.body.extensions?.cost as { throttleStatus: { currentlyAvailable: number; maximumAvailable: number; restoreRate: number } }).throttleStatus;
      const first = await gql(server.url, query, {}, { 'api-key': apiKey });
      expect(first.body.extensions?.cost).toMatchObject({ requestedQueryCost: 41, throttleStatus: { maximumAvailable: 100, restoreRate: 10 } });
      expect(available(first).currentlyAvailable).toBeGreaterThanOrEqual(59);
      expect(available(first).currentlyAvailable).toBeLessThanOrEqual(60);
      const second = await gql(server.url, query, {}, { 'api-key': apiKey });
      expect(available(second).currentlyAvailable).toBeGreaterThanOrEqual(18);
      expect(available(second).currentlyAvailable).toBeLessThan(available(first).currentlyAvailable);

      const refused = await gql(server.url, query, {}, { 'api-key': apiKey });
      expect([refused.status, codes(refused)]).toEqual([429, ['QUERY_COST_THROTTLED']]);
      const retryAfterMs = refused.body.errors?.[0]?.extensions?.retryAfterMs as number;
      expect(retryAfterMs).toBeGreaterThan(1000);
      expect(retryAfterMs).toBeLessThanOrEqual(2300);
      expect(Number(refused.headers.get('retry-after'))).toBe(Math.ceil(retryAfterMs / 1000));
      expect(refused.body.extensions?.cost).toMatchObject({ requestedQueryCost: 41 });
      // A cheap query still fits meanwhile.
      expect((await gql(server.url, '{ __typename }', {}, { 'api-key': apiKey })).status).toBe(200);

      await sleep(retryAfterMs + 100);
      const refilled = await gql(server.url, query, {}, { 'api-key': apiKey });
      expect(refilled.status).toBe(200);
      expect(available(refilled).currentlyAvailable).toBeLessThan(10);
    } finally {
      await server.stop();
    }
  });
});

describe('query-cost refund', () => {
  it('charges the estimate, reports actualQueryCost from the answer, and gives the unused points back', async () => {
    const server = await startTestServer({ QUERY_COST_BUDGET: '100', QUERY_COST_MAX: '100', QUERY_COST_RESTORE_PER_SECOND: '1' });
    try {
      const { tenantId, apiKey } = await server.newTenant();
      const ledger = new LedgerStore(server.redis, tenantId);
      for (let i = 0; i < 2; i++) await ledger.createAccount({ name: `a${i}`, currency: 'EUR', allowNegativeBalance: false });
      const query = '{ accounts(first: 20) { edges { node { id } } } }';
      const response = await gql(server.url, query, {}, { 'api-key': apiKey });
      // requested 1 + 20 x 2; actual 1 + 2 x 2 (two accounts); 36 points back.
      expect(response.body.extensions?.cost).toMatchObject({ requestedQueryCost: 41, actualQueryCost: 5, throttleStatus: { maximumAvailable: 100 } });
      const reported = (response.body.extensions?.cost as { throttleStatus: { currentlyAvailable: number } }).throttleStatus.currentlyAvailable;
      // 59 left after the charge, plus what restored meanwhile (1 point a second), plus 36.
      expect(reported).toBeGreaterThanOrEqual(95);
      expect(reported).toBeLessThan(98);
      // The refund is sent without holding the response: wait for it in Redis (bounded).
      let stored = 0;
      for (let i = 0; i < 50 && stored < 95; i++) {
        stored = Number(await server.redis.hget(tenantKeys(tenantId).costBudget, 'available'));
        if (stored < 95) await sleep(20);
      }
      expect(stored).toBeGreaterThanOrEqual(95);
      expect(stored).toBeLessThan(98);
      // A refused query executed nothing: actualQueryCost null, nothing refunded.
      const refused = await gql(server.url, '{ accounts(first: 100) { edges { node { id } } } }', {}, { 'api-key': apiKey });
      expect([refused.status, codes(refused), (refused.body.extensions?.cost as { actualQueryCost: unknown }).actualQueryCost]).toEqual([400, ['QUERY_TOO_COMPLEX'], null]);
    } finally {
      await server.stop();
    }
  });
});

describe('no refund for a query that ran into an error', () => {
  it('charges a failed transfer its whole estimate: null propagation could hide the work it did', async () => {
    const server = await startTestServer({ QUERY_COST_BUDGET: '1000', QUERY_COST_MAX: '1000', QUERY_COST_RESTORE_PER_SECOND: '1' });
    try {
      const { tenantId, apiKey } = await server.newTenant();
      const ledger = new LedgerStore(server.redis, tenantId);
      const empty = await ledger.createAccount({ name: 'empty', currency: 'EUR', allowNegativeBalance: false });
      const other = await ledger.createAccount({ name: 'other', currency: 'EUR', allowNegativeBalance: false });
      const mutation = `mutation { createTransfer(input: {fromAccountId: "${empty.id}", toAccountId: "${other.id}", amount: "1", currency: "EUR"}, idempotencyKey: "${randomUUID()}") { fromAccount { transfers(first: 50) { edges { node { id } } } } } }`;
      const response = await gql(server.url, mutation, {}, { 'api-key': apiKey });
      expect([response.status, codes(response)]).toEqual([422, ['INSUFFICIENT_FUNDS']]);
      // requested 10 + fromAccount 1 + transfers 1 + 50 x 2; the answer shows the mutation's own 10.
      const cost = response.body.extensions?.cost as { requestedQueryCost: number; actualQueryCost: number; throttleStatus: { currentlyAvailable: number } };
      expect([cost.requestedQueryCost, cost.actualQueryCost]).toEqual([112, 10]);
      expect(cost.throttleStatus.currentlyAvailable).toBeLessThan(1000 - 112 + 2);
      // Nothing comes back later either: a cheap query after it sees the budget still short.
      await sleep(50);
      const after = await gql(server.url, '{ __typename }', {}, { 'api-key': apiKey });
      expect((after.body.extensions?.cost as { throttleStatus: { currentlyAvailable: number } }).throttleStatus.currentlyAvailable).toBeLessThan(1000 - 112 + 2);
    } finally {
      await server.stop();
    }
  });
});

describe('the admit step', () => {
  it('is one Redis round trip', async () => {
    const server = await startTestServer();
    const { tenantId, apiKey } = await server.newTenant();
    const watch = await watchTenantCommands(tenantId);
    try {
      await watch.take();
      const response = await gql(server.url, '{ accounts(first: 1) { pageInfo { hasNextPage } } }', {}, { 'api-key': apiKey });
      expect(response.status).toBe(200);
      // admit, then the query's own page read
      expect(commandNames(await watch.take())).toEqual(['evalsha', 'zrangebyscore']);
    } finally {
      watch.stop();
      await server.stop();
    }
  });
});
